"""The EL8/EL9 kickstart (`#version=RHEL8`/`RHEL9`), proven by pykickstart's ksvalidator and
parser for that version, shellcheck, and by running its %post against a scratch root."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion

from cloudbr import pipeline
from cloudbr.carriers import kickstart
from cloudbr.carriers.embed import units_to_enable
from cloudbr.inventory import load_inventory, parse_inventory
from cloudbr.model import Backend, Distro, Host
from cloudbr.render import nm_keyfile
from tests.conftest import EXAMPLES
from tests.support import preloaded
from tests.test_embed import expected, tree_on_disk
from tests.test_ifcfg import GOLDEN, ODD
from tests.test_kickstart import (
    KSVALIDATOR,
    ODD_INSTALL,
    check_golden,
    shellcheck,
    take_enable_links,
    unpacked,
)

EL = (Distro.EL8, Distro.EL9)


def el_hosts() -> list[Host]:
    hosts = [h for p in sorted(EXAMPLES.glob("el*.yaml")) for h in load_inventory(p).hosts]
    for distro in EL:
        for doc, name in ((ODD_INSTALL, "odd-install.yaml"), (ODD, "odd.yaml")):
            text = doc.replace("distro: centos7", f"distro: {distro.value}")
            hosts += [h for h in parse_inventory(text, name).hosts if h.distro is distro]
    return hosts


HOSTS = el_hosts()
IDS = [f"{h.distro.value}-{h.backend.value}-{h.hostname}" for h in HOSTS]


def dialect(host: Host) -> str:
    return {Distro.EL8: "RHEL8", Distro.EL9: "RHEL9"}[host.distro]


def kickstart_text(host: Host) -> str:
    f = pipeline.render_host(host)["kickstart.cfg"]
    assert f.mode == 0o600
    return f.content.decode()


def parsed(host: Host, text: str) -> Any:
    handler = makeVersion(dialect(host))
    KickstartParser(handler).readKickstartFromString(text)
    return handler


def post_body(host: Host, text: str) -> str:
    (script,) = [s for s in parsed(host, text).scripts if s.type == 1]  # KS_SCRIPT_POST
    body: str = script.script
    return body


def run_post(host: Host, text: str, root: Path) -> None:
    out = subprocess.run(
        ["bash", "-s", "--", str(root)], input=post_body(host, text), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def test_the_examples_and_both_releases_are_covered() -> None:
    assert {(h.distro, h.backend) for h in HOSTS} == {(d, b) for d in EL for b in Backend}
    assert {"kvmhost1", "ks-v6", "ks-vlan", "ks-ovs", "odd-lacp"} <= {h.hostname for h in HOSTS}


@pytest.mark.parametrize("host", HOSTS, ids=IDS)
def test_ksvalidator_accepts_it_for_its_release(tmp_path: Path, host: Host) -> None:
    ks = tmp_path / "kickstart.cfg"
    text = kickstart_text(host)
    assert text.startswith(f"#version={dialect(host)}\n")
    ks.write_text(text)
    res = preloaded.run([KSVALIDATOR, "-e", "-v", dialect(host), str(ks)], text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_ksvalidator_rejects_a_second_network_line_for_the_same_device(tmp_path: Path) -> None:
    """Why the VLAN stays out of the install-time network: devices are compared by name."""
    host = next(h for h in HOSTS if h.hostname == "kvmhost1" and h.distro is Distro.EL9)
    text = kickstart_text(host)
    line = next(ln for ln in text.splitlines() if ln.startswith("network "))
    ks = tmp_path / "two.cfg"
    ks.write_text(text.replace(line, f"{line}\n{line} --vlanid=100"))
    res = preloaded.run([KSVALIDATOR, "-e", "-v", "RHEL9", str(ks)])
    assert res.returncode != 0


@pytest.mark.parametrize("host", HOSTS, ids=IDS)
def test_install_network_is_one_nic_of_the_management_bridge(host: Host) -> None:
    """One `network` line: a NIC under the management bridge (by MAC when known), tagged when
    that bridge is a VLAN bridge, with the management address; no bond, bridge or VLAN."""
    (net,) = parsed(host, kickstart_text(host)).network.network
    bridge = host.primary_bridge
    device = bridge.vlan.device.name if bridge.vlan else bridge.uplink_name
    assert device is not None
    bonds = {b.name for b in host.bonds}
    nics = (
        [host.nic(m) for m in host.bond(device).members] if device in bonds else [host.nic(device)]
    )
    assert net.device in {n.mac or n.name for n in nics}
    assert net.vlanid == (str(bridge.vlan.id) if bridge.vlan else "")
    assert net.ip == (str(bridge.ipv4[0].ip) if bridge.ipv4 else "")
    assert net.noipv6 == (not host.ipv6)
    assert net.activate


@pytest.mark.parametrize("host", HOSTS, ids=IDS)
def test_packages_repos_and_services(host: Host) -> None:
    handler = parsed(host, kickstart_text(host))
    packages = handler.packages.packageList
    assert "NetworkManager" in packages
    assert ("cloudstack-agent" in packages) == host.installer.install_agent
    ovs = [p for p in packages if p.startswith("openvswitch")]
    repos = {r.name: r.baseurl for r in handler.repo.repoList}
    if host.backend is Backend.OVS:
        assert ovs == [{Distro.EL8: "openvswitch2.17", Distro.EL9: "openvswitch3.1"}[host.distro]]
        assert repos["openvswitch"] == host.installer.ovs_repo or "/nfv/" in repos["openvswitch"]
        assert handler.services.enabled == ["NetworkManager", "openvswitch"]
    else:
        assert not ovs
        assert "openvswitch" not in repos
        assert handler.services.enabled == ["NetworkManager"]
    assert "network" not in handler.services.enabled
    assert handler.services.disabled == []
    assert not [p for p in packages if p in ("network-scripts", "NetworkManager-ovs")]


@pytest.mark.parametrize("host", HOSTS, ids=IDS)
def test_post_passes_shellcheck_and_lays_down_exactly_the_rootfs(
    tmp_path: Path, host: Host
) -> None:
    text = kickstart_text(host)
    shellcheck(post_body(host, text))
    shellcheck(unpacked(post_body(host, text)))
    tree = pipeline.render.rootfs(host)
    run_post(host, text, tmp_path)
    assert take_enable_links(tmp_path) == {
        f"/etc/systemd/system/multi-user.target.wants/{u}": f"/etc/systemd/system/{u}"
        for u in units_to_enable(tree)
    }
    want = expected(tree)
    if host.access.ssh_authorized_keys:
        keys = "\n".join(host.access.ssh_authorized_keys) + "\n"
        want[kickstart.AUTHORIZED_KEYS] = (keys.encode(), 0o600)
    assert tree_on_disk(tmp_path) == want
    keyfiles = [p for p in tree if p.endswith(".nmconnection")]
    assert bool(keyfiles) == (host.backend is Backend.LINUXBRIDGE)
    assert all(tree[p].mode == 0o600 for p in keyfiles)


def test_post_moves_aside_the_installers_keyfiles_and_ifcfg_files(tmp_path: Path) -> None:
    host = next(h for h in HOSTS if h.hostname == "kvmhost1" and h.backend is Backend.LINUXBRIDGE)
    conns = tmp_path / nm_keyfile.CONNECTIONS.lstrip("/")
    scripts = tmp_path / "etc/sysconfig/network-scripts"
    conns.mkdir(parents=True)
    scripts.mkdir(parents=True)
    (conns / "eth0.nmconnection").write_text("[connection]\nid=eth0\n")  # anaconda, EL9
    (scripts / "ifcfg-eth0").write_text("DEVICE=eth0\n")  # anaconda, EL8
    (scripts / "ifcfg-lo").write_text("DEVICE=lo\n")
    tree = pipeline.render.rootfs(host)
    run_post(host, kickstart_text(host), tmp_path)
    ours = sorted(Path(p).name for p in tree if p.startswith(nm_keyfile.CONNECTIONS + "/"))
    assert sorted(p.name for p in conns.iterdir()) == ours
    assert sorted(p.name for p in scripts.iterdir()) == ["ifcfg-lo"]
    backup = tmp_path / kickstart.INSTALLER_NM_BACKUP.lstrip("/")
    assert (backup / "eth0.nmconnection").read_text() == "[connection]\nid=eth0\n"
    assert (tmp_path / kickstart.INSTALLER_IFCFG_BACKUP.lstrip("/") / "ifcfg-eth0").exists()


@pytest.mark.parametrize("flavour", ["bridge", "ovs"])
def test_golden_kickstart(flavour: str) -> None:
    # Rendered with the keyfiles alone as the tree, so other renderers' changes do not move it.
    host = load_inventory(EXAMPLES / f"el9-{flavour}.yaml").hosts[0]
    text = kickstart.render(host, nm_keyfile.render(host))[kickstart.OUTPUT].content.decode()
    check_golden(GOLDEN / f"el9-{flavour}", text, unpacked(post_body(host, text)))
