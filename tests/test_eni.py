"""/etc/network/interfaces, proven by ifupdown itself and by Debian's Open vSwitch hook.

- `ifquery`/`ifup --no-act` (always with `-i FILE --state-dir TMP`) parse every file and show
  the commands ifupdown would run at boot, in boot order.
- Debian's /usr/share/openvswitch/scripts/ifupdown.sh is run the way ifupdown runs it
  (IFACE, LOGICAL, ADDRFAM, METHOD, MODE, PHASE and IF_<OPTION> variables) for every
  `allow-ovs` bridge, against a private ovsdb-server. Its nested `ifup --allow=<bridge>` goes
  to a shim that reads the same file through ifquery and runs the hook again; `ip`,
  `systemctl` and `service` are shims too, so nothing touches this machine's interfaces.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cloudbr.inventory import load_inventory, parse_inventory
from cloudbr.model import Backend, Family, Host
from cloudbr.platforms import platform
from cloudbr.render import debian_extras, eni
from tests.conftest import EXAMPLES
from tests.support.ovsdb import OvsDb, assert_bond

GOLDEN = Path(__file__).resolve().parent / "golden"
OVS_HOOK = Path("/usr/share/openvswitch/scripts/ifupdown.sh")

# A topology away from the reference one: 802.3ad, MTUs, MACs, IPv6, a NIC uplink, a bridge
# without uplink and a VLAN bridge with two addresses.
VARIANT = """\
site:
  domain: example.net
  distro: debian12
  backend: linuxbridge
  ipv6: true
  dns:
    servers: [10.1.0.53, "2001:db8::53"]
    search: [example.net, lab.example.net]
  topology:
    nics:
      - {name: eno1, mac: "52:54:00:aa:00:01", mtu: 9000}
      - {name: eno2, mac: "52:54:00:aa:00:02", mtu: 9000}
      - {name: ens3f0}
    bonds:
      - name: bond0
        members: [eno1, eno2]
        mode: 802.3ad
        lacp_rate: fast
        xmit_hash_policy: layer3+4
        updelay: 200
        downdelay: 200
        mtu: 9000
    bridges:
      - {name: cloudbr0, uplink: bond0, mtu: 9000}
      - {name: cloudbr1, uplink: ens3f0, stp: true, forward_delay: 4}
      - {name: cloudbr9}
    vlans:
      - {id: 200, parent: bond0, bridge: cloudbr200, addresses: [10.2.0.7/24, 10.3.0.7/24]}
  traffic_labels: {management: cloudbr0, guest: cloudbr0, public: cloudbr1}
hosts:
  - hostname: node7
    address: 10.1.0.7/24
    gateway: 10.1.0.1
    address6: 2001:db8::7/64
    gateway6: 2001:db8::1
"""


def _example(name: str, **replace: str) -> Host:
    text = (EXAMPLES / name).read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_inventory(text, name).hosts[0]


def variant(backend: str = "linuxbridge", distro: str = "debian12") -> Host:
    text = VARIANT.replace("distro: debian12", f"distro: {distro}")
    if backend == "ovs":
        text = text.replace("backend: linuxbridge", "backend: ovs")
        text = text.replace("mode: 802.3ad", "mode: balance-tcp")
        text = text.replace("        xmit_hash_policy: layer3+4\n", "")
    return parse_inventory(text, "variant.yaml").hosts[0]


def named_hosts() -> dict[str, Host]:
    """Every Ubuntu/Debian flavour the tests cover, by a stable name."""
    lab = load_inventory(EXAMPLES / "lab.yaml")
    out = {
        "ubuntu1804-bridge": _example("seed-ubuntu1804-bridge.yaml"),
        "ubuntu1804-ovs": _example("seed-ubuntu1804-ovs.yaml"),
        "debian12-bridge": _example("seed-ubuntu1804-bridge.yaml", ubuntu1804="debian12"),
        "debian12-ovs": _example("seed-ubuntu1804-ovs.yaml", ubuntu1804="debian12"),
        "variant-bridge": variant(),
        "variant-ovs": variant("ovs"),
        "variant-ubuntu1804-bridge": variant(distro="ubuntu1804"),
    }
    for h in lab.hosts:
        if platform(h).family is Family.DEBIAN:
            out[f"lab-{h.hostname}"] = h
    return out


HOSTS = named_hosts()
ENI_HOSTS = {
    k: h for k, h in HOSTS.items() if h.backend is Backend.OVS or h.distro.value == "debian12"
}
LINUX_ENI = {k: h for k, h in ENI_HOSTS.items() if h.backend is Backend.LINUXBRIDGE}
OVS_ENI = {k: h for k, h in ENI_HOSTS.items() if h.backend is Backend.OVS}


def check_golden(path: Path, text: str) -> None:
    if os.environ.get("CLOUDBR_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, f"{path} differs (CLOUDBR_UPDATE_GOLDEN=1 to regenerate)"


def write_eni(host: Host, tmp_path: Path) -> Path:
    files = eni.render(host)
    f = files[eni.INTERFACES]
    assert f.mode == 0o644
    path = tmp_path / "interfaces"
    path.write_bytes(f.content)
    return path


def ifquery(eni_file: Path, state: Path, *args: str) -> str:
    state.mkdir(exist_ok=True)
    out = subprocess.run(
        ["ifquery", "-i", str(eni_file), "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == "", out.stderr
    return out.stdout


def options(eni_file: Path, state: Path, iface: str) -> dict[str, list[str]]:
    """What ifupdown reads for `iface`, every stanza of it, as option -> values."""
    opts: dict[str, list[str]] = {}
    for line in ifquery(eni_file, state, iface).splitlines():
        key, _, value = line.partition(": ")
        opts.setdefault(key, []).append(value)
    return opts


def listed(eni_file: Path, state: Path, *args: str) -> list[str]:
    return ifquery(eni_file, state, "--list", *args).split()


# --- ifupdown parses every file and would run the right commands -------------------------


@pytest.mark.parametrize("name", sorted(ENI_HOSTS))
def test_ifup_no_act_parses_and_configures_addresses(name: str, tmp_path: Path) -> None:
    host = ENI_HOSTS[name]
    path = write_eni(host, tmp_path)
    out = subprocess.run(
        [
            "ifup",
            "--no-act",
            "--no-loopback",
            "-a",
            "-i",
            str(path),
            "--state-dir",
            str(tmp_path / "st"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # --no-act prints the commands on stderr; ifupdown's complaints start with "ifup:".
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert not re.search(r"^ifup:", text, re.M), text
    # OVS fake bridges are not `auto`: their parent's hook brings them up (tested below).
    booted = host.plain_bridges if host.backend is Backend.OVS else host.bridges
    for bridge in booted:
        for addr in bridge.ipv4:
            assert f"ip addr add {addr.ip}/{addr.netmask} " in text
            assert f"dev {bridge.name} label {bridge.name}" in text
        for addr6 in bridge.ipv6:
            assert f"{addr6.ip}/{addr6.network.prefixlen}" in text
    gw = host.gateway4
    assert gw is not None
    assert f"ip route add default via {gw}  dev {host.primary_bridge.name}" in text
    if host.gateway6:
        assert f"ip -6 route replace default via {host.gateway6}" in text
    # Boot brings up what the file marks auto; OVS bridges must be among them (networking
    # .service only runs `ifup -a`).
    auto = listed(path, tmp_path / "st")
    if host.backend is Backend.OVS:
        assert set(listed(path, tmp_path / "st", "--allow", "ovs")) == {
            b.name for b in host.plain_bridges
        }
        assert {b.name for b in host.plain_bridges} <= set(auto)
    else:
        assert {b.name for b in host.bridges} <= set(auto)


@pytest.mark.parametrize("name", sorted(LINUX_ENI))
def test_linux_bridge_stanzas(name: str, tmp_path: Path) -> None:
    host = LINUX_ENI[name]
    path = write_eni(host, tmp_path)
    st = tmp_path / "st"
    auto = listed(path, st)
    for bond in host.bonds:
        o = options(path, st, bond.name)
        assert o["bond-slaves"] == [" ".join(bond.members)]
        assert o["bond-mode"] == [bond.mode.value]
        assert o["bond-miimon"] == [str(bond.miimon)]
        assert o.get("bond-primary") == ([bond.primary] if bond.primary else None)
        if bond.lacp_rate:
            assert o["bond-lacp-rate"] == [bond.lacp_rate.value]
        # ifup -a follows the file: the bond exists before a bridge or VLAN uses it.
        users = [b.name for b in host.bridges if b.uplink_name == bond.name]
        users += [v.name for v in host.vlans_on(bond.name)]
        assert all(auto.index(bond.name) < auto.index(u) for u in users)
        for member in bond.members:
            # Members are enslaved by bond-slaves, never brought up on their own; their MTU
            # (their own, else the bond's) is written as in every other format.
            assert member not in auto
            mtu = host.nic(member).mtu or bond.mtu
            assert options(path, st, member) == ({"mtu": [str(mtu)]} if mtu else {})
    for vlan in host.vlans:
        assert options(path, st, vlan.name)["vlan-raw-device"] == [vlan.device.name]
        assert auto.index(vlan.name) < auto.index(vlan.bridge)
    for bridge in host.bridges:
        o = options(path, st, bridge.name)
        assert o["bridge_ports"] == [bridge.uplink_name or "none"]
        assert o["bridge_stp"] == ["on" if bridge.stp else "off"]
        assert o["bridge_fd"] == [str(bridge.forward_delay)]
        assert o.get("address", []) == [str(a.ip) for a in bridge.addresses]
        if bridge.gateway4:
            assert str(bridge.gateway4) in o["gateway"]
        if bridge.dns.servers:
            assert o["dns-nameservers"] == [" ".join(str(s) for s in bridge.dns.servers)]


def test_linux_vlan_device_is_created_by_ifupdown(tmp_path: Path) -> None:
    host = HOSTS["debian12-bridge"]
    path = write_eni(host, tmp_path)
    out = subprocess.run(
        ["ifup", "--no-act", "-i", str(path), "--state-dir", str(tmp_path / "st"), "bond0.100"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ip link add link bond0 name bond0.100 type vlan id 100" in out.stdout + out.stderr


# --- Open vSwitch: Debian's hook builds the topology from the file ---------------------------

IFUP_SHIM = r"""
import os, re, subprocess, sys, json

ENI, STATE, HOOK, LOG = (os.environ[k] for k in
    ("CLOUDBR_ENI", "CLOUDBR_STATE", "CLOUDBR_HOOK", "CLOUDBR_LOG"))

def ifquery(*args):
    return subprocess.run(["ifquery", "-i", ENI, "--state-dir", STATE, *args],
                          capture_output=True, text=True, check=True).stdout

def method(iface):
    text = open(ENI).read()
    return re.search(rf"^iface {re.escape(iface)} inet (\S+)$", text, re.M).group(1)

mode = "stop" if sys.argv[1] == "ifdown" else "start"
allow, names, args = None, [], iter(sys.argv[2:])
for a in args:
    if a.startswith("--allow="):
        allow = a.split("=", 1)[1]
    elif a == "--allow":
        allow = next(args)
    elif not a.startswith("-"):
        names.append(a)
allowed = set(ifquery("--allow", allow, "--list").split()) if allow else None
for name in names:
    if allowed is not None and name not in allowed:
        continue   # ifup ignores interfaces outside the --allow class
    env = {k: v for k, v in os.environ.items() if not k.startswith("IF_")}
    for line in ifquery(name).splitlines():
        key, _, value = line.partition(": ")
        var = "IF_" + re.sub(r"[^A-Za-z0-9]", "_", key).upper()
        env.setdefault(var, value)
    env.update(IFACE=name, LOGICAL=name, ADDRFAM="inet", METHOD=method(name), MODE=mode,
               PHASE="pre-up" if mode == "start" else "post-down", VERBOSITY="0")
    with open(LOG, "a") as log:
        log.write(json.dumps({"mode": mode, "allow": allow, "iface": name}) + "\n")
    subprocess.run(["/bin/sh", HOOK], env=env, check=True)
"""


def _shims(db: OvsDb, tmp: Path, eni_file: Path) -> dict[str, str]:
    shim = tmp / "shim"
    shim.mkdir()
    driver = tmp / "ifup_shim.py"
    driver.write_text(IFUP_SHIM)
    for name in ("ifup", "ifdown"):
        p = shim / name
        p.write_text(f'#!/bin/sh\nexec {sys.executable} {driver} {name} "$@"\n')
        p.chmod(0o755)
    # `ip link set ... up` must not touch this machine: record it instead.
    (shim / "ip").write_text(f'#!/bin/sh\necho "$*" >> {tmp / "ip.log"}\n')
    # The hook starts openvswitch-switch if it is not active: pretend it is.
    (shim / "systemctl").write_text("#!/bin/sh\nexit 0\n")
    (shim / "service").write_text("#!/bin/sh\nexit 0\n")
    for p in shim.iterdir():
        p.chmod(0o755)
    (tmp / "st").mkdir()
    env = db.env(
        CLOUDBR_ENI=str(eni_file),
        CLOUDBR_STATE=str(tmp / "st"),
        CLOUDBR_HOOK=str(OVS_HOOK),
        CLOUDBR_LOG=str(tmp / "ifup.log"),
    )
    env["PATH"] = f"{shim}:{env['PATH']}"
    return env


def _run_bridges(env: dict[str, str], eni_file: Path, tmp: Path, cmd: str) -> str:
    bridges = listed(eni_file, tmp / "st", "--allow", "ovs")
    out = subprocess.run(
        [cmd, "--allow=ovs", *bridges], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stderr


@pytest.mark.parametrize("name", sorted(OVS_ENI))
def test_debian_ovs_hook_builds_topology(name: str, ovsdb: OvsDb, tmp_path: Path) -> None:
    host = OVS_ENI[name]
    path = write_eni(host, tmp_path)
    env = _shims(ovsdb, tmp_path, path)
    stderr = _run_bridges(env, path, tmp_path, "ifup")
    assert "ovs-vsctl" not in stderr, stderr
    assert "error" not in stderr.lower(), stderr

    assert ovsdb.bridges() == {b.name for b in host.bridges}
    for bridge in host.plain_bridges:
        ovsdb.vsctl("br-exists", bridge.name)
        assert ovsdb.vsctl("br-to-parent", bridge.name) == bridge.name
        expected = {bridge.uplink.name} if bridge.uplink else set()
        assert ovsdb.ports(bridge.name) == expected
        if bridge.mtu:
            assert ovsdb.get("Interface", bridge.name, "mtu_request") == str(bridge.mtu)
    for bond in host.bonds:
        # other_config:bond-primary only where OVS has it (2.14+: Debian 12, not 18.04's 2.9).
        assert_bond(ovsdb, host, bond)
        for nic in host.members_of(bond.name):
            mtu = nic.mtu or bond.mtu
            if mtu:
                assert ovsdb.get("Interface", nic.name, "mtu_request") == str(mtu)
    for vlan in host.vlans:
        # A real fake bridge: br-exists holds, with its parent and tag.
        ovsdb.vsctl("br-exists", vlan.bridge)
        assert ovsdb.vsctl("br-to-parent", vlan.bridge) == vlan.parent_bridge
        assert ovsdb.vsctl("br-to-vlan", vlan.bridge) == str(vlan.id)
    # Bonds and fake bridges came up through their bridge's allow- class, after it.
    log = [json.loads(line) for line in (tmp_path / "ifup.log").read_text().splitlines()]
    order = [e["iface"] for e in log]
    for bridge in host.plain_bridges:
        for port in [
            bridge.uplink_name,
            *(v.bridge for v in host.vlans if v.parent_bridge == bridge.name),
        ]:
            if port:
                entry = next(e for e in log if e["iface"] == port)
                assert entry["allow"] == bridge.name
                assert order.index(bridge.name) < order.index(port)
    ip_log = (tmp_path / "ip.log").read_text()
    for bond in host.bonds:
        for member in bond.members:
            assert f"link set dev {member} up" in ip_log

    # ifdown through the same hook takes everything away again.
    stderr = _run_bridges(env, path, tmp_path, "ifdown")
    assert "ovs-vsctl" not in stderr, stderr
    assert ovsdb.bridges() == set()


def test_ovs_fake_bridge_needs_its_parent_first(ovsdb: OvsDb, tmp_path: Path) -> None:
    """Why the fake bridge hangs off its parent's ovs_ports: alone, add-br fails."""
    host = HOSTS["ubuntu1804-ovs"]
    path = write_eni(host, tmp_path)
    env = _shims(ovsdb, tmp_path, path)
    out = subprocess.run(["ifup", "cloudbr100"], env=env, capture_output=True, text=True)
    assert "cloudbr0" in out.stderr
    assert "ovs-vsctl" in out.stderr
    assert ovsdb.bridges() == set()


# --- golden files and the reference post --------------------------------------------------


@pytest.mark.parametrize("name", ["ubuntu1804-ovs", "debian12-bridge", "debian12-ovs"])
def test_golden_interfaces(name: str) -> None:
    text = eni.render(HOSTS[name])[eni.INTERFACES].content.decode()
    check_golden(GOLDEN / name / "rootfs/etc/network/interfaces", text)


@pytest.mark.parametrize("name", ["ubuntu1804-bridge", "ubuntu1804-ovs", "debian12-ovs"])
def test_golden_debian_extras(name: str) -> None:
    host = HOSTS[name]
    for path, f in {
        **debian_extras.render_grub(host),
        **debian_extras.render_cloud_cfg(host),
    }.items():
        check_golden(GOLDEN / name / "rootfs" / path.lstrip("/"), f.content.decode())


# The post's /etc/network/interfaces for Ubuntu 18.04 + OVS, typed as published (its line
# breaks restored), storage fake bridge appended "at the end of the interfaces file".
POST_INTERFACES = """\
# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
iface eth0 inet manual
iface eth1 inet manual
iface eth2 inet manual
iface eth3 inet manual

auto cloudbr0
allow-ovs cloudbr0
iface cloudbr0 inet static
  address 192.168.100.20
  netmask 255.255.155.0
  gateway 192.168.100.100
  dns-nameserver 192.168.100.5
  ovs_type OVSBridge
  ovs_ports bond0

allow-cloudbr0 bond0
iface bond0 inet manual
  ovs_bridge cloudbr0
  ovs_type OVSBond
  ovs_bonds eth0 eth1
  ovs_option bond_mode=active-backup other_config:miimon=100

auto cloudbr1
allow-ovs cloudbr1
iface cloudbr1 inet manual

allow-cloudbr1 bond1
iface bond1 inet manual
  ovs_bridge cloudbr1
  ovs_type OVSBond
  ovs_bonds eth2 eth3
  ovs_option bond_mode=active-backup other_config:miimon=100

auto cloudbr100
allow-cloudbr0 cloudbr100
iface cloudbr100 inet static
  address 10.0.100.20
  netmask 255.255.255.0
  ovs_type OVSIntPort
  ovs_bridge cloudbr0
  ovs_options tag=100
"""

# (interface, option) -> why ours differs. Every difference must be listed here, and every
# entry must still be a difference.
ENI_CORRECTIONS: dict[tuple[str, str], str] = {
    ("cloudbr0", "netmask"): "255.255.155.0 is not a valid netmask; /24 is 255.255.255.0",
    ("cloudbr0", "gateway"): "the post's text and inventory use .1, its file .100",
    ("cloudbr0", "dns-nameserver"): "no such option, and bionic's ifupdown hands dns-* to "
    "resolvconf only (absent): DNS goes in /etc/systemd/resolved.conf.d",
    ("eth0", "auto"): "OVS 2.9.0-2.9.2's hook never ups bond members: ifupdown must",
    ("eth1", "auto"): "OVS 2.9.0-2.9.2's hook never ups bond members: ifupdown must",
    ("eth2", "auto"): "OVS 2.9.0-2.9.2's hook never ups bond members: ifupdown must",
    ("eth3", "auto"): "OVS 2.9.0-2.9.2's hook never ups bond members: ifupdown must",
    ("cloudbr0", "ovs_ports"): "the fake bridge comes up through its parent's ovs_ports",
    ("bond0", "ovs_option"): "ignored by the hook: the option is ovs_options (plural)",
    ("bond0", "ovs_options"): "bond-detect-mode/bond-miimon-interval (miimon is no key)",
    ("bond1", "ovs_option"): "ignored by the hook: the option is ovs_options (plural)",
    ("bond1", "ovs_options"): "bond-detect-mode/bond-miimon-interval (miimon is no key)",
    ("cloudbr1", "ovs_type"): "without ovs_type the hook never creates cloudbr1",
    ("cloudbr1", "ovs_ports"): "without ovs_ports bond1 is never brought up",
    ("cloudbr100", "ovs_type"): "an OVSIntPort is a port: br-exists cloudbr100 fails",
    ("cloudbr100", "ovs_bridge"): "a fake bridge names its parent in ovs_options",
    ("cloudbr100", "ovs_options"): "'cloudbr0 100': add-br cloudbr100 cloudbr0 100",
    ("cloudbr100", "auto"): "auto would bring it up before cloudbr0 exists",
}


def _parsed(path: Path, state: Path, names: list[str]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    auto = set(listed(path, state))
    for name in names:
        for key, values in options(path, state, name).items():
            out[(name, key)] = " ".join(values)
        out[(name, "auto")] = str(name in auto)
        for cls in sorted(set(names) | {"ovs"}):
            if name in listed(path, state, "--allow", cls):
                out[(name, "allow")] = cls
    return out


def test_reference_post_interfaces(tmp_path: Path) -> None:
    host = HOSTS["ubuntu1804-ovs"]
    ours = write_eni(host, tmp_path)
    post = tmp_path / "post-interfaces"
    post.write_text(POST_INTERFACES)
    names = ["eth0", "eth1", "eth2", "eth3", "cloudbr0", "bond0", "cloudbr1", "bond1", "cloudbr100"]
    a = _parsed(ours, tmp_path / "st1", names)
    b = _parsed(post, tmp_path / "st2", names)
    differing = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    assert differing == set(ENI_CORRECTIONS), sorted(differing ^ set(ENI_CORRECTIONS))
    # And where the post is right, we agree with it.
    for key in [
        ("cloudbr0", "address"),
        ("bond0", "ovs_bonds"),
        ("bond1", "ovs_bridge"),
        ("cloudbr100", "address"),
        ("cloudbr100", "allow"),
        ("cloudbr0", "allow"),
    ]:
        assert a[key] == b[key]


def test_grub_dropin_appends_to_the_command_line(tmp_path: Path) -> None:
    host = HOSTS["ubuntu1804-ovs"]
    f = debian_extras.render_grub(host)[debian_extras.GRUB_DROPIN]
    path = tmp_path / "90-cloudbr.cfg"
    path.write_bytes(f.content)
    out = subprocess.run(
        ["sh", "-c", f'GRUB_CMDLINE_LINUX="quiet splash"; . {path}; echo "$GRUB_CMDLINE_LINUX"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Only what the installed kernel or udev reads: netcfg/do_not_use_netplan is a question of
    # debian-installer's netcfg (its templates), read by nothing on an installed system.
    assert out == "quiet splash net.ifnames=0 biosdevname=0"
    # Predictable names need no drop-in at all on a linux bridge host.
    assert debian_extras.GRUB_DROPIN not in debian_extras.render_grub(variant())
    for name in ("debian12-ovs", "ubuntu1804-ovs", "ubuntu1804-bridge"):
        assert HOSTS[name].kernel_args == ("net.ifnames=0", "biosdevname=0")
    assert re.search(r"^GRUB_CMDLINE_LINUX=", f.content.decode(), re.M)
