"""The CentOS 7 kickstart, proven by pykickstart (ksvalidator -v RHEL7 and its parser), bash,
shellcheck, and by running its %post against a scratch root."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pykickstart.constants import KS_SCRIPT_POST
from pykickstart.parser import KickstartParser
from pykickstart.version import RHEL7, RHEL8, RHEL9, makeVersion

from cloudbr import pipeline, platforms
from cloudbr.carriers import kickstart
from cloudbr.carriers.embed import units_to_enable
from cloudbr.files import File, FileMap
from cloudbr.inventory import load_inventory, parse_inventory
from cloudbr.model import Backend, Distro, Host
from cloudbr.render import common, ifcfg
from tests.conftest import EXAMPLES
from tests.support import preloaded
from tests.test_embed import NASTY, expected, tree_on_disk
from tests.test_ifcfg import ODD

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("CLOUDBR_UPDATE_GOLDEN") == "1"
KSVALIDATOR = preloaded.KSVALIDATOR
HASH = (
    "$6$cloudbrlab$iTU3lxUd69EYmQuLMqd2Xh1HzO4FmuUBozC84qZLzvkcCaGexk9uYdMrl"
    "smWWF0fBxRIIqG171n5.5fgjTOdY1"
)

# Odd but valid: ens names, NIC uplinks, IPv6, custom mirror, agent install, a disk, keys and
# no password; a management VLAN; OVS with its own repo and no blacklist.
ODD_INSTALL = """
site:
  distro: centos7
  ipv6: false
  dns: {servers: [192.0.2.53]}
hosts:
  - hostname: ks-v6
    backend: linuxbridge
    ipv6: true
    topology:
      nics: [{name: ens3, mac: "52:54:00:aa:00:03"}, {name: ens4}]
      bonds: []
      bridges: [{name: cloudbr0, uplink: ens3}, {name: cloudbr1, uplink: ens4}]
    installer:
      mirror: http://mirror.example/centos/7/os/x86_64/
      agent_repo: http://cloudstack.example/el7/4.18/
      install_agent: true
      disk: vda
      timezone: Europe/Oslo
      keyboard: de
    access:
      ssh_authorized_keys:
        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 a@b
        - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDPZSYAdGot2j7c8ePbohqIikaVPIH/jtwsCyNMqZe7n1llFClYm5aKRbF+ttlrvxHxp0J+4j5t5fG+5UuMKBCV6rIuiH/jPhqQX3IMrGS3FTBVB0Gl+SVBovxUuoIiZI2m3NREfBI9BJNtTsvVgkBqAgkdSLnOodoiIE++Y40PaF+KiSK3FF5g/PSGBL4++3pZVQk6NEI6ryr50Po+XmzabMCiADf7hmaPqBpA3pnaF8cb0Jp76W4heqmC6x8Kj1iiPW9HPi3tYGY6qWhouO+AIUoeSgs+cp1m28HzjvxoZaCTphs76oqpz5pKUZAGM+6qnPsCovjfLdh36NjDsyvT second key
    address: 192.0.2.10/24
    gateway: 192.0.2.1
    address6: 2001:db8::10/64
    gateway6: 2001:db8::1
  - hostname: ks-vlan
    backend: linuxbridge
    topology:
      bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: bond1}]
      vlans: [{id: 200, parent: bond0, bridge: mgmt200}]
    traffic_labels: {management: mgmt200, guest: cloudbr0, public: cloudbr1}
    access: {root_password_hash: "HASH"}
    address: 198.51.100.7/24
    gateway: 198.51.100.1
  - hostname: ks-ovs
    backend: ovs
    blacklist_bridge_module: false
    installer: {ovs_repo: "http://ovs.example/el7/", agent_repo: "http://cs.example/", install_agent: true}
    address: 203.0.113.9/24
    gateway: 203.0.113.1
    storage_address: 10.0.100.9/24
""".replace("HASH", HASH)


def odd_hosts() -> list[Host]:
    return list(parse_inventory(ODD_INSTALL, "odd-install.yaml").hosts) + list(
        parse_inventory(ODD, "odd.yaml").hosts
    )


def all_centos7_hosts() -> list[Host]:
    hosts = [h for p in sorted(EXAMPLES.glob("*.yaml")) for h in load_inventory(p).hosts]
    return [h for h in hosts + odd_hosts() if h.distro is Distro.CENTOS7]


def host_named(name: str) -> Host:
    return next(h for h in all_centos7_hosts() if h.hostname == name)


def kickstart_text(host: Host, tree: FileMap | None = None) -> str:
    if tree is None:
        tree = pipeline.render.rootfs(host)
    f = kickstart.render(host, tree)[kickstart.OUTPUT]
    assert f.mode == 0o600  # carries the root password hash
    return f.content.decode()


def parsed(text: str, version: int = RHEL7) -> Any:
    handler = makeVersion(version)
    KickstartParser(handler).readKickstartFromString(text)
    return handler


def post_body(text: str) -> str:
    scripts = [s for s in parsed(text).scripts if s.type == KS_SCRIPT_POST]
    assert len(scripts) == 1
    assert scripts[0].interp == "/bin/bash"
    assert scripts[0].errorOnFail
    body: str = scripts[0].script
    return body


def unpacked(body: str) -> str:
    """The script a %post body carries, decoded by the real base64 and gunzip (the body's
    own lines, up to the payload, with `run` turned into printing the script)."""
    lines = body.splitlines()
    end = lines.index("CLOUDBR_EOF")
    shown = "\n".join([*lines[: end + 2], 'cat "$cloudbr_dir/post.sh"', 'rm -rf -- "$cloudbr_dir"'])
    out = subprocess.run(["bash", "-c", shown], capture_output=True, text=True, check=True)
    assert lines[end + 1 :] == [
        'gunzip "$cloudbr_dir/post.sh.gz"',
        'bash "$cloudbr_dir/post.sh" "$@"',
        'rm -rf -- "$cloudbr_dir"',
    ]
    return out.stdout


def shellcheck(script: str) -> None:
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    sc = subprocess.run(
        ["shellcheck", "-s", "bash", "-"], input=script, text=True, capture_output=True
    )
    assert sc.returncode == 0, sc.stdout


def run_post(text: str, root: Path) -> None:
    out = subprocess.run(
        ["bash", "-s", "--", str(root)], input=post_body(text), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


# --- ksvalidator ----------------------------------------------------------------------------


@pytest.mark.parametrize("host", all_centos7_hosts(), ids=lambda h: h.hostname)
def test_ksvalidator_accepts_every_centos7_kickstart(tmp_path: Path, host: Host) -> None:
    out_files = pipeline.render_host(host)
    ks = tmp_path / "kickstart.cfg"
    ks.write_bytes(out_files["kickstart.cfg"].content)
    res = preloaded.run([KSVALIDATOR, "-e", "-v", "RHEL7", str(ks)], text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_ksvalidator_rejects_a_broken_kickstart(tmp_path: Path) -> None:
    # The validator is not a rubber stamp: an unterminated %post fails.
    text = kickstart_text(host_named("kvm-c7-br")).rsplit("%end", 1)[0]
    ks = tmp_path / "broken.cfg"
    ks.write_text(text)
    res = preloaded.run([KSVALIDATOR, "-v", "RHEL7", str(ks)])
    assert res.returncode != 0


# --- %post: shell checks and a real run --------------------------------------------------------


@pytest.mark.parametrize("name", ["kvmhost1", "kvm-c7-br", "kvm-c7-ovs", "ks-v6", "ks-ovs"])
def test_post_passes_bash_n_and_shellcheck(name: str) -> None:
    hosts = [h for h in all_centos7_hosts() if h.hostname == name]
    assert hosts
    for host in hosts:
        body = post_body(kickstart_text(host))
        shellcheck(body)  # what anaconda runs
        shellcheck(unpacked(body))  # and the script it unpacks


def take_enable_links(root: Path) -> dict[str, str]:
    """Remove and return the `systemctl enable` symlinks under root: link -> target."""
    links = {}
    for link in sorted((root / "etc/systemd/system").glob("*.wants/*")):
        links["/" + str(link.relative_to(root))] = os.readlink(link)
        link.unlink()
        if not any(link.parent.iterdir()):
            link.parent.rmdir()
    return links


@pytest.mark.parametrize("host", all_centos7_hosts(), ids=lambda h: h.hostname)
def test_post_lays_down_exactly_the_rootfs(tmp_path: Path, host: Host) -> None:
    tree = pipeline.render.rootfs(host)
    run_post(kickstart_text(host, tree), tmp_path)
    # Units with an [Install] section were enabled offline, as systemctl enable would at boot.
    units = units_to_enable(tree)
    assert bool(units) == (host.backend is Backend.OVS)
    assert take_enable_links(tmp_path) == {
        f"/etc/systemd/system/multi-user.target.wants/{u}": f"/etc/systemd/system/{u}"
        for u in units
    }
    want = expected(tree)
    if host.access.ssh_authorized_keys:
        keys = "\n".join(host.access.ssh_authorized_keys) + "\n"
        want[kickstart.AUTHORIZED_KEYS] = (keys.encode(), 0o600)
        assert (tmp_path / "root/.ssh").stat().st_mode & 0o7777 == 0o700
    assert tree_on_disk(tmp_path) == want


def test_post_survives_hostile_file_content(tmp_path: Path) -> None:
    host = host_named("kvmhost1")
    tree = dict(pipeline.render.rootfs(host))
    tree["/etc/cloudbr-hostile"] = File(NASTY, 0o600)
    tree["/etc/cloudbr-end"] = File(b"%end\n%post\n%packages\nEOF\n'\n", 0o644)
    text = kickstart_text(host, tree)
    # pykickstart reads the whole %post: the embedded "%end" lines did not end it early.
    script = unpacked(post_body(text))
    assert "cloudbr_put etc/sysconfig/network-scripts/ifcfg-eth3" in script
    assert script.rstrip().endswith("fi")
    run_post(text, tmp_path)
    assert tree_on_disk(tmp_path) == expected(tree)


def test_post_unpacker_is_installed_and_a_damaged_payload_fails_before_any_file(
    tmp_path: Path,
) -> None:
    text = kickstart_text(host_named("kvm-c7-ovs"))
    assert "gzip" in parsed(text).packages.packageList  # %packages runs before %post
    lines = post_body(text).splitlines()
    i = lines.index("CLOUDBR_EOF") // 2  # a payload line
    lines[i] = lines[i][:10] + ("A" if lines[i][10] != "A" else "B") + lines[i][11:]
    out = subprocess.run(
        ["bash", "-s", "--", str(tmp_path)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0  # --erroronfail: the install stops here
    assert list(tmp_path.iterdir()) == []


def test_post_moves_aside_the_installers_ifcfg_files(tmp_path: Path) -> None:
    host = host_named("kvmhost1")
    scripts = tmp_path / "etc/sysconfig/network-scripts"
    scripts.mkdir(parents=True)
    (scripts / "ifcfg-lo").write_text("DEVICE=lo\n")
    (scripts / "ifcfg-ens3").write_text("DEVICE=ens3\nONBOOT=yes\n")
    (scripts / "ifcfg-eth0").write_text("DEVICE=eth0\nBOOTPROTO=dhcp\n")
    tree = pipeline.render.rootfs(host)
    run_post(kickstart_text(host, tree), tmp_path)
    assert sorted(p.name for p in scripts.iterdir()) == sorted(
        ["ifcfg-lo", *(Path(p).name for p in tree if p.startswith(ifcfg.SCRIPTS + "/"))]
    )
    assert (scripts / "ifcfg-lo").read_text() == "DEVICE=lo\n"
    assert (scripts / "ifcfg-eth0").read_bytes() == tree[f"{ifcfg.SCRIPTS}/ifcfg-eth0"].content
    backup = tmp_path / kickstart.INSTALLER_IFCFG_BACKUP.lstrip("/")
    assert (backup / "ifcfg-ens3").read_text() == "DEVICE=ens3\nONBOOT=yes\n"


def test_bridge_blacklist_is_laid_down_after_packages() -> None:
    host = host_named("kvm-c7-ovs")
    text = kickstart_text(host)
    assert common.BRIDGE_BLACKLIST in pipeline.render.rootfs(host)
    path = common.BRIDGE_BLACKLIST.lstrip("/")
    # Sections run in order %packages -> %post; the blacklist exists only inside %post.
    lines = text.splitlines()
    packages = lines.index("%packages")
    post = next(i for i, ln in enumerate(lines) if ln.startswith("%post "))
    assert packages < post
    assert "bridge-blacklist" not in "\n".join(lines[:post])
    script = unpacked(post_body(text)).splitlines()
    put = next(i for i, ln in enumerate(script) if ln.startswith(f"cloudbr_put {path} "))
    enable = next(i for i, ln in enumerate(script) if ln.startswith("systemctl --root="))
    assert put < enable  # laid down before the finishing steps


def test_no_blacklist_when_turned_off() -> None:
    script = unpacked(post_body(kickstart_text(host_named("ks-ovs"))))
    assert "cloudbr_put etc/hostname " in script
    assert common.BRIDGE_BLACKLIST.lstrip("/") not in script


# --- commands, as pykickstart reads them ---------------------------------------------------------


def test_root_password_is_a_crypt_hash_or_locked() -> None:
    for host in all_centos7_hosts():
        h = parsed(kickstart_text(host))
        rootpw = h.rootpw
        if host.access.root_password_hash:
            assert rootpw.isCrypted
            assert rootpw.password == host.access.root_password_hash
            assert rootpw.password.startswith("$6$")
        else:
            assert rootpw.lock
            assert not rootpw.password


def test_ssh_keys_reach_root_and_nothing_else_does() -> None:
    host = host_named("ks-v6")
    files = kickstart.post_files(host, {})
    assert files[kickstart.AUTHORIZED_KEYS].content.decode().splitlines() == list(
        host.access.ssh_authorized_keys
    )
    assert files[kickstart.AUTHORIZED_KEYS].mode == 0o600
    assert kickstart.AUTHORIZED_KEYS not in kickstart.post_files(host_named("kvmhost1"), {})


def test_linux_bridge_packages_services_and_boot_args() -> None:
    host = host_named("kvm-c7-br")
    h = parsed(kickstart_text(host))
    assert "bridge-utils" in h.packages.packageList
    assert "openvswitch" not in h.packages.packageList
    assert "cloudstack-agent" not in h.packages.packageList
    assert h.services.disabled == ["NetworkManager"]
    assert h.services.enabled == ["network"]
    assert h.bootloader.appendLine == "net.ifnames=0 biosdevname=0"
    assert h.method.url == platforms.get(Distro.CENTOS7).installer.mirror
    assert [r.name for r in h.repo.repoList] == ["updates"]


def test_ovs_packages_repos_and_services() -> None:
    h = parsed(kickstart_text(host_named("ks-ovs")))
    assert {"openvswitch", "cloudstack-agent"} <= set(h.packages.packageList)
    assert "bridge-utils" not in h.packages.packageList
    repos = {r.name: r.baseurl for r in h.repo.repoList}
    assert repos["openvswitch"] == "http://ovs.example/el7/"
    assert repos["cloudstack"] == "http://cs.example/"
    assert h.services.enabled == ["network", "openvswitch"]
    default = parsed(kickstart_text(host_named("kvm-c7-ovs")))
    default_repos = {r.name: r.baseurl for r in default.repo.repoList}
    assert default_repos["openvswitch"] == platforms.get(Distro.CENTOS7).installer.ovs_repo


def test_custom_mirror_agent_disk_and_predictable_names() -> None:
    host = host_named("ks-v6")
    h = parsed(kickstart_text(host))
    assert h.method.url == "http://mirror.example/centos/7/os/x86_64/"
    assert [r.name for r in h.repo.repoList] == ["cloudstack"]
    assert "cloudstack-agent" in h.packages.packageList
    assert h.bootloader.appendLine == ""  # ens3: no ethN names
    assert h.ignoredisk.onlyuse == ["vda"]
    assert h.clearpart.drives == ["vda"]
    assert h.timezone.timezone == "Europe/Oslo"


def test_install_network_uses_the_management_nic() -> None:
    nd = parsed(kickstart_text(host_named("kvm-c7-br"))).network.network
    assert len(nd) == 1
    assert nd[0].device == "52:54:00:00:21:00"  # eth0's MAC: bond0's primary
    assert (nd[0].bootProto, nd[0].ip, nd[0].netmask) == (
        "static",
        "192.168.100.21",
        "255.255.255.0",
    )
    assert nd[0].gateway == "192.168.100.1"
    assert nd[0].nameserver == "192.168.100.5,192.168.100.6"
    assert nd[0].noipv6
    assert nd[0].activate

    v6 = parsed(kickstart_text(host_named("ks-v6"))).network.network[0]
    assert (v6.device, v6.ipv6, v6.ipv6gateway) == (
        "52:54:00:aa:00:03",
        "2001:db8::10/64",
        "2001:db8::1",
    )
    assert not v6.noipv6

    vl = parsed(kickstart_text(host_named("ks-vlan"))).network.network[0]
    assert (vl.device, vl.vlanid, vl.ip) == ("eth0", "200", "198.51.100.7")


@pytest.mark.parametrize("distro", ["centos7", "el8", "el9"])
def test_an_ipv6_only_host_turns_ipv4_off(distro: str) -> None:
    """Anaconda (pyanaconda/modules/network/nm_client.py, update_connection_ip_settings_from_
    ksdata, in RHEL 8 and 9 alike) takes IPv4's method from --noipv4 first, then from
    --bootproto: `static` with no --ip made it build an IPv4 address of ''."""
    text = (
        f"site: {{domain: lab.test, distro: {distro}, ipv6: true}}\n"
        "hosts:\n  - {hostname: v6only, address6: 2001:db8::25/64, gateway6: 2001:db8::1}\n"
    )
    host = parse_inventory(text, "v6.yaml").hosts[0]
    version = {"centos7": RHEL7, "el8": RHEL8, "el9": RHEL9}[distro]
    (net,) = parsed(kickstart_text(host), version).network.network
    assert net.noipv4
    assert (net.ip, net.ipv6, net.ipv6gateway) == ("", "2001:db8::25/64", "2001:db8::1")
    assert not net.noipv6


# --- golden -------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["bridge", "ovs"])
def test_golden_kickstart(flavour: str) -> None:
    # Rendered with the ifcfg files alone as the tree, so other renderers' changes do not move it.
    host = load_inventory(EXAMPLES / f"seed-centos7-{flavour}.yaml").hosts[0]
    assert host.backend is (Backend.OVS if flavour == "ovs" else Backend.LINUXBRIDGE)
    text = kickstart_text(host, ifcfg.render(host))
    check_golden(GOLDEN / f"centos7-{flavour}", text, unpacked(post_body(text)))


def check_golden(directory: Path, text: str, script: str) -> None:
    """The kickstart and, beside it for reading, the script its %post unpacks."""
    for name, content in (("kickstart.cfg", text), ("kickstart-post.sh", script)):
        golden = directory / name
        if UPDATE_GOLDEN:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(content)
        assert golden.read_text() == content
