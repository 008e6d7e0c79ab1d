"""NetworkManager keyfiles (EL8/EL9), read back by NetworkManager's own parser.

Each keyfile goes through `nmcli --offline connection modify` (NetworkManager 1.42, what EL
9.2 ships): nmcli parses it with libnm's keyfile reader, normalizes and verifies the profile
(an invalid one is an error) and writes it back out. What it writes is compared, property by
property, with the resolved model. The `conf.d` drop-in is read by `NetworkManager
--print-config`.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from cloudbr.files import SECRET
from cloudbr.inventory import load_inventory, parse_inventory
from cloudbr.model import Backend, Host
from cloudbr.render import nm_keyfile
from tests.conftest import EXAMPLES
from tests.support.golden import assert_golden_tree
from tests.test_ifcfg import GOLDEN, ODD

Parsed = dict[str, dict[str, str]]
NETWORKMANAGER = "/usr/sbin/NetworkManager"


def el_hosts(backend: Backend) -> list[Host]:
    """The EL examples, and the odd hosts (IPv6, MTUs, STP, NIC uplinks, LACP) as EL8 and EL9."""
    hosts = [h for p in sorted(EXAMPLES.glob("el*.yaml")) for h in load_inventory(p).hosts]
    for distro in ("el8", "el9"):
        hosts += parse_inventory(
            ODD.replace("distro: centos7", f"distro: {distro}"), "odd.yaml"
        ).hosts
    return [h for h in hosts if h.backend is backend]


def ids(hosts: list[Host]) -> list[str]:
    return [f"{h.distro.value}-{h.hostname}" for h in hosts]


LB = el_hosts(Backend.LINUXBRIDGE)
OVS = el_hosts(Backend.OVS)


def ini(text: str) -> Parsed:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {s: dict(parser[s]) for s in parser.sections()}


def nm_read(content: bytes) -> Parsed:
    """The profile as NetworkManager reads it: nmcli parses the keyfile on stdin, verifies
    it and prints it back (the modification is a no-op on our profiles: no zone)."""
    if not shutil.which("nmcli"):
        pytest.fail("nmcli missing: run `make test`, which installs network-manager")
    out = subprocess.run(
        ["nmcli", "--offline", "connection", "modify", "connection.zone", ""],
        input=content,
        capture_output=True,
        check=True,
    )
    return ini(out.stdout.decode())


def profiles(host: Host) -> dict[str, Parsed]:
    """Device (interface-name) -> NetworkManager's reading of its keyfile."""
    files = nm_keyfile.render(host)
    out: dict[str, Parsed] = {}
    for path, f in files.items():
        if path.endswith(".nmconnection"):
            assert f.mode == SECRET, path
            parsed = nm_read(f.content)
            out[parsed["connection"]["interface-name"]] = parsed
    return out


def controller(parsed: Parsed) -> tuple[str, str] | None:
    conn = parsed["connection"]
    if "master" not in conn:
        return None
    return conn["master"], conn["slave-type"]


def nm_list(value: str | None) -> list[str]:
    return [v for v in (value or "").split(";") if v]


@pytest.mark.parametrize("host", LB, ids=ids(LB))
def test_every_device_has_one_profile_of_its_kind(host: Host) -> None:
    got = {dev: p["connection"]["type"] for dev, p in profiles(host).items()}
    want = {n.name: "ethernet" for n in host.nics}
    want |= {b.name: "bond" for b in host.bonds}
    want |= {v.name: "vlan" for v in host.vlans}
    want |= {b.name: "bridge" for b in host.bridges}
    assert got == want
    for p in profiles(host).values():
        assert p["connection"]["uuid"] == nm_keyfile.profile_uuid(host, p["connection"]["id"])
        assert p["connection"].get("autoconnect", "true") == "true"


@pytest.mark.parametrize("host", LB, ids=ids(LB))
def test_ports_name_their_controller_with_master_and_slave_type(host: Host) -> None:
    got = profiles(host)
    for n in host.nics:
        bond = host.bond_of(n.name)
        bridge = host.bridge_of(n.name)
        want = (bond.name, "bond") if bond else (bridge.name, "bridge") if bridge else None
        assert controller(got[n.name]) == want, n.name
        if want:
            assert f"{want[1]}-port" in got[n.name]
        else:  # nobody's port: no address, no DHCP
            assert got[n.name]["ipv4"]["method"] == "disabled"
        assert got[n.name].get("ethernet", {}).get("mac-address") == (
            n.mac.upper() if n.mac else None
        )
        assert got[n.name].get("ethernet", {}).get("mtu") == (str(n.mtu) if n.mtu else None)
    for v in host.vlans:
        assert controller(got[v.name]) == (v.bridge, "bridge")
        assert "ipv4" not in got[v.name]
    for name in (n.name for n in host.nics):
        assert "controller" not in got[name]["connection"]


@pytest.mark.parametrize("host", LB, ids=ids(LB))
def test_bonds_carry_every_option_of_the_model(host: Host) -> None:
    got = profiles(host)
    for b in host.bonds:
        p = got[b.name]
        assert p["bond"] == dict(b.linux_options())
        bridge = host.bridge_of(b.name)
        assert controller(p) == ((bridge.name, "bridge") if bridge else None)
        # Ports bring their controller up: no second activation request from the controller.
        assert "autoconnect-slaves" not in p["connection"]
        assert p.get("ethernet", {}).get("mtu") == (str(b.mtu) if b.mtu else None)


@pytest.mark.parametrize("host", LB, ids=ids(LB))
def test_vlans_have_their_id_and_parent(host: Host) -> None:
    got = profiles(host)
    for v in host.vlans:
        assert got[v.name]["vlan"]["id"] == str(v.id)
        assert got[v.name]["vlan"]["parent"] == v.device.name
        assert got[v.name].get("ethernet", {}).get("mtu") == (str(v.mtu) if v.mtu else None)


def _addresses(section: dict[str, str]) -> tuple[list[str], str | None]:
    """Addresses in order and the gateway, however NetworkManager spells them."""
    addrs, gateway = [], section.get("gateway")
    for i in range(1, 10):
        value = section.get(f"address{i}")
        if value is None:
            continue
        addr, _, gw = value.partition(",")
        addrs.append(addr)
        gateway = gateway or gw or None
    return addrs, gateway


@pytest.mark.parametrize("host", LB, ids=ids(LB))
def test_bridges_addresses_gateway_dns_mtu_stp(host: Host) -> None:
    got = profiles(host)
    for b in host.bridges:
        p = got[b.name]
        assert controller(p) is None
        # Ports bring their controller up: no second activation request from the controller.
        assert "autoconnect-slaves" not in p["connection"]
        # NetworkManager leaves out its defaults: STP on, forward delay 15 s.
        assert p["bridge"].get("stp", "true") == ("true" if b.stp else "false")
        assert p["bridge"].get("forward-delay", "15") == str(b.forward_delay)
        assert p.get("ethernet", {}).get("mtu") == (str(b.mtu) if b.mtu else None)
        v4 = p["ipv4"]
        assert v4["method"] == ("manual" if b.ipv4 else "disabled")
        assert _addresses(v4) == (
            [str(a) for a in b.ipv4],
            str(b.gateway4) if b.gateway4 else None,
        )
        servers = [str(s) for s in b.dns.servers if s.version == 4]
        assert nm_list(v4.get("dns")) == (servers if b.ipv4 else [])
        assert nm_list(v4.get("dns-search")) == (list(b.dns.search) if b.ipv4 else [])
        v6 = p["ipv6"]
        if not host.ipv6:
            assert v6["method"] == "disabled"
            continue
        assert v6["method"] == ("manual" if b.ipv6 else "link-local")
        assert _addresses(v6) == (
            [str(a) for a in b.ipv6],
            str(b.gateway6) if b.gateway6 else None,
        )
        assert nm_list(v6.get("dns")) == [str(s) for s in b.dns.servers if s.version == 6]


def test_the_odd_hosts_exercise_what_the_examples_do_not() -> None:
    hosts = {h.hostname: h for h in LB}
    v6, lacp = hosts["odd-v6"], hosts["odd-lacp"]
    assert v6.ipv6
    assert v6.bridge("cloudbr0").stp
    assert v6.bridge("cloudbr0").mtu == 9000
    assert profiles(v6)["cloudbr0"]["ipv6"]["method"] == "manual"
    assert profiles(lacp)["bond0"]["bond"]["xmit_hash_policy"] == "layer3+4"
    assert profiles(lacp)["bond0"]["bond"]["lacp_rate"] == "fast"


def test_networkmanager_drops_controller_and_port_type() -> None:
    """Why the keyfiles say master=/slave-type=: 1.42 reads the new names as nothing, and the
    port turns into a DHCP profile of its own."""
    new = b"[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\ncontroller=bond0\nport-type=bond\n"
    assert controller(nm_read(new)) is None
    assert nm_read(new)["ipv4"]["method"] == "auto"


def print_config(tmp_path: Path, host: Host) -> Parsed:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / Path(nm_keyfile.CONF).name).write_bytes(
        nm_keyfile.render(host)[nm_keyfile.CONF].content
    )
    (tmp_path / "NetworkManager.conf").write_text("")
    out = subprocess.run(
        [
            NETWORKMANAGER,
            "--print-config",
            f"--config={tmp_path / 'NetworkManager.conf'}",
            f"--config-dir={conf_d}",
            f"--system-config-dir={tmp_path / 'none'}",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "90-cloudbr.conf" in out.splitlines()[0]
    return ini(out)


@pytest.mark.parametrize("host", LB, ids=ids(LB))
def test_conf_turns_off_automatic_dhcp_profiles(tmp_path: Path, host: Host) -> None:
    got = print_config(tmp_path, host)
    assert got["main"]["no-auto-default"] == "*"
    assert "unmanaged-devices" not in got.get("keyfile", {})


@pytest.mark.parametrize("host", OVS, ids=ids(OVS))
def test_ovs_devices_are_unmanaged_and_dns_is_global(tmp_path: Path, host: Host) -> None:
    got = print_config(tmp_path, host)
    assert got["main"]["no-auto-default"] == "*"
    unmanaged = set(got["keyfile"]["unmanaged-devices"].split(";"))
    for name in [b.name for b in host.bridges] + [n.name for n in host.nics] + ["ovs-system"]:
        assert f"interface-name:{name}" in unmanaged
    servers = [str(s) for s in host.dns.servers]
    assert got.get("global-dns-domain-*", {}).get("servers", "").split(",") == (servers or [""])
    assert got.get("global-dns", {}).get("searches", "").split(",") == (
        list(host.dns.search) or [""]
    )
    assert not [p for p in nm_keyfile.render(host) if p.endswith(".nmconnection")]


def test_values_that_are_not_plain_are_refused() -> None:
    for value in ("a\nb", "a b", "$(x)", "a#b", "a\\sb"):
        with pytest.raises(ValueError, match="not a plain keyfile value"):
            nm_keyfile._check("dns-search", value)


@pytest.mark.parametrize("flavour", ["bridge", "ovs"])
def test_golden_tree(flavour: str) -> None:
    """For reading: the reference host's keyfiles (the checks above are the proof)."""
    files = nm_keyfile.render(load_inventory(EXAMPLES / f"el9-{flavour}.yaml").hosts[0])
    assert_golden_tree(files, GOLDEN / f"el9-{flavour}" / "rootfs")


def test_wait_online_waits_for_the_bridges_as_long_as_ifupdown(tmp_path: Path) -> None:
    """systemd's own parser reads NetworkManager's unit with the drop-in applied."""
    host = LB[0]
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    unit = Path("/lib/systemd/system/NetworkManager-wait-online.service")
    (units / unit.name).write_bytes(unit.read_bytes())
    dropin = tmp_path / nm_keyfile.WAIT_ONLINE.lstrip("/")
    dropin.parent.mkdir(parents=True)
    dropin.write_bytes(nm_keyfile.render(host)[nm_keyfile.WAIT_ONLINE].content)
    res = subprocess.run(
        ["systemd-analyze", "cat-config", "--root", str(tmp_path), f"systemd/system/{unit.name}"],
        capture_output=True,
        text=True,
    )
    env = [ln for ln in res.stdout.splitlines() if ln.startswith("Environment=NM_ONLINE_TIMEOUT")]
    assert env == ["Environment=NM_ONLINE_TIMEOUT=60", "Environment=NM_ONLINE_TIMEOUT=300"], res
    assert nm_keyfile.WAIT_ONLINE in nm_keyfile.render(OVS[0])
