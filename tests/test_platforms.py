"""What the target releases' own versions do with the rendered files, where the Debian 12
consumers of this machine cannot show it (facts in cloudbr.platforms; each test
names the source it was read from)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cloudbr import cli, render
from cloudbr.carriers import preseed
from cloudbr.model import Backend, Distro, Host
from cloudbr.platforms import platform
from cloudbr.render import eni, ifcfg, netplan, ovs_firstboot
from tests.conftest import EXAMPLES
from tests.support.debian_installer import entries, run_in_debian_root, run_installer
from tests.test_eni import HOSTS


def ovs_hosts() -> list[Host]:
    from tests.test_ifcfg import centos7_hosts

    return [h for h in HOSTS.values() if h.backend is Backend.OVS] + centos7_hosts(Backend.OVS)


def test_bond_primary_only_where_open_vswitch_has_it() -> None:
    """openvswitch/ovs vswitchd/vswitch.xml documents other_config:bond-primary from v2.14.0
    (absent at v2.9.0, v2.12.0 and v2.13.0): Ubuntu 18.04 (2.9) and CentOS 7 (RDO Train 2.12)
    would ignore it silently, so no file claims it there."""
    seen = set()
    for host in ovs_hosts():
        if not any(b.primary for b in host.bonds):
            continue
        tree = render.rootfs(host)
        carriers = [eni.INTERFACES, ovs_firstboot.SCRIPT]
        carriers += [p for p in tree if p.startswith(ifcfg.SCRIPTS)]
        text = b"".join(tree[p].content for p in carriers if p in tree)
        assert (b"bond-primary" in text) == platform(host).ovs_bond_primary, host.hostname
        seen.add(platform(host).ovs_bond_primary)
    assert seen == {True, False}


def test_check_warns_where_bond_primary_cannot_be_enforced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["check", str(EXAMPLES / "seed-ubuntu1804-ovs.yaml")]) == 0
    err = capsys.readouterr().err
    assert "warning: kvmhost1: bond bond0: primary eth0 is not enforced" in err
    assert "Open vSwitch 2.9.0 on ubuntu1804" in err
    assert cli.main(["check", str(EXAMPLES / "seed-ubuntu1804-bridge.yaml")]) == 0
    assert "warning" not in capsys.readouterr().err


def _interfaces(host: Host, tmp_path: Path) -> Path:
    path = tmp_path / "interfaces"
    path.write_bytes(eni.render(host)[eni.INTERFACES].content)
    return path


@pytest.mark.parametrize("name", ["ubuntu1804-ovs", "debian12-ovs", "lab-kvm-u18-ovs"])
def test_bond_members_come_up_with_any_ovs_2_9_hook(name: str, tmp_path: Path) -> None:
    """openvswitch v2.9.0-v2.9.2 debian/ifupdown.sh, OVSBond: `for slave in ${IF_OVS_BONDS};
    do ip link set "${IFACE}" up; done` ups the bond's name, not the members (v2.9.3 fixed
    it to "${slave}"). Where the platform's OVS may be older than 2.9.3, each member has an
    `auto` manual stanza: ifup -a brings its link up (ifupdown's manual method)."""
    host = HOSTS[name]
    path = _interfaces(host, tmp_path)
    st = ["--state-dir", str(tmp_path / "st")]
    auto = subprocess.run(
        ["ifquery", "-i", str(path), *st, "--list", "-a"], capture_output=True, text=True
    ).stdout.split()
    members = [m for b in host.bonds for m in b.members]
    needs = not platform(host).ovs_hook_ups_members
    assert needs == (host.distro is Distro.UBUNTU1804)
    for member in members:
        assert (member in auto) == needs, member
        if needs:
            out = subprocess.run(
                ["ifup", "--no-act", "-i", str(path), *st, member], capture_output=True, text=True
            )
            assert f"ip link set dev {member} up" in out.stdout + out.stderr


def test_dns_reaches_the_resolver(tmp_path: Path) -> None:
    """Ubuntu 18.04 with OVS: ifupdown 0.8 hands dns-* options to resolvconf hooks only, and
    bionic has systemd-resolved, no resolvconf: the servers go in a resolved.conf.d drop-in
    (systemd's own config loader, `systemd-analyze cat-config`, picks it up). Debian 12: the
    dns-* options stay, and the preseed installs resolvconf, whose if-up.d hook reads them."""
    u18 = HOSTS["ubuntu1804-ovs"]
    files = eni.render(u18)
    assert b"dns-" not in files[eni.INTERFACES].content
    root = tmp_path / "root"
    dropin = root / eni.RESOLVED_DROPIN.lstrip("/")
    dropin.parent.mkdir(parents=True)
    dropin.write_bytes(files[eni.RESOLVED_DROPIN].content)
    out = subprocess.run(
        ["systemd-analyze", "cat-config", f"--root={root}", "systemd/resolved.conf"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    servers = " ".join(str(s) for s in u18.dns.servers)
    assert f"[Resolve]\nDNS={servers}\nDomains={' '.join(u18.dns.search)}" in out.stdout
    assert "resolvconf" not in preseed.packages(u18)


@pytest.mark.parametrize("name", ["debian12-ovs", "debian12-bridge"])
def test_debian12_dns_reaches_resolv_conf_through_resolvconf(name: str, tmp_path: Path) -> None:
    """Debian 12: ifupdown exports each option of the stanza as IF_<OPTION> (interfaces(5))
    to its if-up.d hooks; resolvconf's hook (installed by the preseed) feeds them to
    resolvconf, whose resolv.conf is /etc/resolv.conf. Run in a real Debian 12 root."""
    host = HOSTS[name]
    assert eni.RESOLVED_DROPIN not in eni.render(host)
    assert "resolvconf" in preseed.packages(host)
    path = _interfaces(host, tmp_path)
    bridge = host.primary_bridge
    out = subprocess.run(
        ["ifquery", "-i", str(path), "--state-dir", str(tmp_path / "st"), bridge.name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = [
        "IF_" + key.upper().replace("-", "_") + "=" + value.strip()
        for key, value in (line.split(":", 1) for line in out.splitlines())
        if key.startswith("dns-")
    ]
    assert len(env) == 2
    script = (
        "mkdir -p /run/resolvconf/interface && touch /run/resolvconf/enable-updates && "
        '/usr/bin/env "$@" /etc/network/if-up.d/000resolvconf && cat /etc/resolv.conf'
    )
    res = run_in_debian_root(
        tmp_path / "root",
        "sh",
        "-c",
        script,
        "sh",
        f"IFACE={bridge.name}",
        "ADDRFAM=inet",
        *env,
    )
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln and not ln.startswith("#")]
    assert lines == [f"nameserver {s}" for s in bridge.dns.servers] + [
        "search " + " ".join(bridge.dns.search)
    ]


def test_netplan_0_39_is_guaranteed_where_link_local_is_written(tmp_path: Path) -> None:
    """netplan 0.39 added `link-local`; bionic's release pocket has 0.36.1, whose parser
    rejects unknown keys. The preseed therefore enables bionic-updates and installs
    netplan.io from it (0.99+), as d-i reads the file."""
    host = HOSTS["ubuntu1804-bridge"]
    assert not host.ipv6
    assert "link-local" in netplan.document(host)
    assert platform(host).netplan_link_local
    questions = ["pkgsel/include", "apt-setup/services-select", "mirror/suite"]
    text = entries(preseed.document(host, render.rootfs(host)), questions)
    assert len(text.splitlines()) == len(questions)
    got = run_installer(text, questions, tmp_path)
    assert "netplan.io" in got.answers["pkgsel/include"].split()
    assert "updates" in got.answers["apt-setup/services-select"].replace(",", " ").split()
    assert got.answers["mirror/suite"] == "bionic"
