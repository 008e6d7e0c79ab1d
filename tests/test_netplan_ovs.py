"""Netplan-native Open vSwitch, proven by Debian's netplan 0.106 (`netplan generate
--root-dir`, the version of jammy-updates) and by running the `ovs-vsctl` commands of the units
it writes, in their dependency order, against a private ovsdb-server: OVSDB must then hold
the model's bridges, fake bridges and bonds (members, mode, LACP, miimon through
other_config), fail-mode standalone and cloudbr's owner in external_ids."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cloudbr import platforms, topology
from cloudbr.carriers import cloudinit
from cloudbr.inventory import InventoryError, parse_inventory
from cloudbr.model import Host, OvsLacp
from cloudbr.render import netplan, netplan_ovs, rootfs
from tests.conftest import EXAMPLES
from tests.support import preloaded
from tests.support.ovsdb import OvsDb, assert_bond
from tests.test_eni import variant
from tests.test_netplan import Unit, parse_unit, values
from tests.test_netplan import generate as netplan_generate

VSCTL = "/usr/bin/ovs-vsctl"


def _example(name: str, distro: str | None = None) -> Host:
    text = (EXAMPLES / name).read_text()
    if distro:
        text = text.replace("distro: ubuntu2404", f"distro: {distro}")
    return parse_inventory(text, name).hosts[0]


HOSTS = {
    "ubuntu2404-ovs": _example("ubuntu2404-ovs.yaml"),
    "ubuntu2204-ovs": _example("ubuntu2404-ovs.yaml", "ubuntu2204"),
    "variant-ubuntu2404-ovs": variant("ovs", "ubuntu2404"),
}


def generate(host: Host, root: Path) -> tuple[dict[str, Unit], dict[str, Unit]]:
    """netplan generate on the host's file: (networkd files, OVS units) by device name."""
    f = rootfs(host)[netplan_ovs.NETPLAN_FILE]
    assert f.renderer == netplan_ovs.NAME
    target = root / netplan_ovs.NETPLAN_FILE.lstrip("/")
    target.parent.mkdir(parents=True)
    target.write_bytes(f.content)
    target.chmod(f.mode)
    out = subprocess.run(
        ["netplan", "generate", "--root-dir", str(root)], capture_output=True, text=True
    )
    assert (out.returncode, out.stderr, out.stdout) == (0, "", "")
    network = {
        p.name.removeprefix("10-netplan-"): parse_unit(p.read_text())
        for p in (root / "run/systemd/network").iterdir()
    }
    units = {
        p.name.removeprefix("netplan-ovs-").removesuffix(".service"): parse_unit(p.read_text())
        for p in (root / "run/systemd/system").glob("netplan-ovs-*.service")
    }
    return network, units


def run_units(units: dict[str, Unit], db: OvsDb) -> list[str]:
    """Each unit's ExecStart lines after the units it Requires=, as systemd orders them."""
    done: list[str] = []

    def start(name: str) -> None:
        if name in done:
            return
        for dep in values(units[name], "Unit", "Requires"):
            start(dep.removeprefix("netplan-ovs-").removesuffix(".service"))
        for cmd in values(units[name], "Service", "ExecStart"):
            argv = shlex.split(cmd)
            assert argv[0] == VSCTL, cmd
            db.vsctl(*argv[1:])
        done.append(name)

    for name in sorted(units):
        if name != "cleanup":  # `netplan apply --only-ovs-cleanup`: nothing to clean here
            start(name)
    return done


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_netplan_builds_the_ovs_topology(name: str, tmp_path: Path, ovsdb: OvsDb) -> None:
    host = HOSTS[name]
    network, units = generate(host, tmp_path)
    run_units(units, ovsdb)
    for bridge in host.plain_bridges:
        assert ovsdb.vsctl("br-exists", bridge.name) == ""
        assert ovsdb.get("Bridge", bridge.name, "fail_mode") == "standalone"
        assert ovsdb.vsctl("br-get-external-id", bridge.name, "cloudbr-owner") == host.hostname
        assert ovsdb.ports(bridge.name) == ({bridge.uplink_name} if bridge.uplink_name else set())
    for bridge in host.bridges:
        if bridge.vlan is not None:
            assert ovsdb.vsctl("br-to-parent", bridge.name) == bridge.vlan.parent_bridge
            assert ovsdb.vsctl("br-to-vlan", bridge.name) == str(bridge.vlan.id)
    for bond in host.bonds:
        assert_bond(ovsdb, host, bond)
        assert ovsdb.get("Port", bond.name, "external_ids:cloudbr-owner") == host.hostname
        # An OVS bond is no kernel bond: networkd must not create one.
        assert f"{bond.name}.netdev" not in network
    # Addresses and routes stay with networkd, on the bridges and fake bridges.
    for bridge in host.bridges:
        unit = network[f"{bridge.name}.network"]
        assert values(unit, "Network", "Address") == [str(a) for a in bridge.addresses]
    # Effective MTUs (cloudbr.topology): a bond's on its members, a VLAN's on its fake bridge.
    for name, mtu in topology.mtus(host).items():
        unit = network[f"{name}.network"]
        assert values(unit, "Link", "MTUBytes") == ([str(mtu)] if mtu else []), name
    gateways = values(network[f"{host.primary_bridge.name}.network"], "Route", "Gateway")
    assert gateways == [str(g) for g in (host.gateway4, host.gateway6) if g]


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_no_keys_netplan_drops_on_ovs_bonds(name: str) -> None:
    doc = yaml.safe_load(netplan_ovs.render(HOSTS[name])[netplan_ovs.NETPLAN_FILE].content)
    for conf in doc["network"]["bonds"].values():
        assert set(conf["parameters"]) == {"mode"}  # no mii-monitor-interval, up-delay, ...


def test_lacp_follows_the_inventory() -> None:
    host = HOSTS["variant-ubuntu2404-ovs"]
    bond = host.bonds[0]
    assert bond.ovs_lacp is OvsLacp.ACTIVE
    doc = yaml.safe_load(netplan_ovs.render(host)[netplan_ovs.NETPLAN_FILE].content)
    ovs = doc["network"]["bonds"][bond.name]["openvswitch"]
    assert ovs["lacp"] == "active"
    assert bond.lacp_rate is not None
    assert ovs["other-config"]["lacp-time"] == bond.lacp_rate.value


def test_ovs_host_tree_has_no_first_boot_program() -> None:
    tree = rootfs(HOSTS["ubuntu2404-ovs"])
    assert not [p for p in tree if "firstboot" in p or p == "/etc/network/interfaces"]
    assert tree[netplan.NETPLAN_FILE].renderer == netplan_ovs.NAME


DEFAULT_FORMS = {"ubuntu1804": "0.0.0.0/0", "ubuntu2004": "0.0.0.0/0"}


@pytest.mark.parametrize("distro", ["ubuntu1804", "ubuntu2004", "ubuntu2204", "ubuntu2404"])
def test_default_route_form_follows_netplan_version(distro: str) -> None:
    text = (EXAMPLES / "ubuntu2404-bridge.yaml").read_text()
    host = parse_inventory(text.replace("ubuntu2404", distro), "x.yaml").hosts[0]
    doc = yaml.safe_load(netplan.render(host)[netplan.NETPLAN_FILE].content)
    routes = doc["network"]["bridges"]["cloudbr0"]["routes"]
    assert routes == [{"to": DEFAULT_FORMS.get(distro, "default"), "via": "192.168.100.1"}]
    # cloud-init's network-config keeps the form every cloud-init parses (22.4 refuses
    # `to: default`: tests/test_netplan.py feeds it network_config()).
    for config in (netplan.network_config(host, gateway6_key=True), netplan.network_config(host)):
        assert config["bridges"]["cloudbr0"]["routes"][0]["to"] == "0.0.0.0/0"


def test_focal_refuses_ovs_naming_the_setting() -> None:
    text = (EXAMPLES / "ubuntu2404-ovs.yaml").read_text().replace("ubuntu2404", "ubuntu2004")
    with pytest.raises(InventoryError) as err:
        parse_inventory(text, "focal.yaml")
    message = str(err.value)
    assert "focal.yaml:" in message
    assert "site.backend" in message
    assert "netplan 0.99" in message
    assert "ubuntu2204" in message


def test_check_warns_about_bond_delays_netplan_cannot_set() -> None:
    host = HOSTS["variant-ubuntu2404-ovs"]
    assert host.bonds[0].updelay == 200
    (warning,) = platforms.warnings(host)
    assert warning == (
        "node7: bond bond0: updelay 200, downdelay 200 is not enforced: "
        "netplan cannot set an Open vSwitch bond's bond_updelay/bond_downdelay"
    )
    assert platforms.warnings(HOSTS["ubuntu2404-ovs"]) == []


@pytest.mark.parametrize("distro", ["ubuntu2004", "ubuntu2204", "ubuntu2404"])
def test_linux_bridge_tree_of_each_release_generates(distro: str, tmp_path: Path) -> None:
    text = (EXAMPLES / "ubuntu2404-bridge.yaml").read_text()
    host = parse_inventory(text.replace("ubuntu2404", distro), "x.yaml").hosts[0]
    units = netplan_generate(host, tmp_path)  # no warning (`gateway4` would be one)
    bridge = units["cloudbr0.network"]
    assert values(bridge, "Route", "Gateway") == ["192.168.100.1"]
    assert values(bridge, "Address", "Address") + values(bridge, "Network", "Address") == [
        "192.168.100.20/24"
    ]


def test_seed_applies_the_netplan_file_it_writes(tmp_path: Path) -> None:
    """On an image booted with the seed ISO, write_files lays the netplan file down after the
    boot's netplan generator ran: runcmd must apply it (netplan builds the OVS topology)."""
    host = HOSTS["ubuntu2404-ovs"]
    seed = cloudinit.seed(host, rootfs(host))
    doc = yaml.safe_load(seed.user_data)
    assert netplan_ovs.NETPLAN_FILE in [f["path"] for f in doc["write_files"]]
    assert doc["runcmd"][-1] == ["netplan", "apply"]
    path = tmp_path / "user-data"
    path.write_text(seed.user_data)
    res = preloaded.run(["cloud-init", "schema", "--config-file", str(path)], text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    # Where the first-boot unit builds OVS (Debian 12), it is what runcmd starts instead.
    other = cloudinit.seed(variant("ovs"), rootfs(variant("ovs")))
    assert ["netplan", "apply"] not in yaml.safe_load(other.user_data)["runcmd"]


def test_cleanup_waits_for_vswitchd(tmp_path: Path) -> None:
    """The drop-in applies to the unit netplan generates (systemd-analyze verify loads it)."""
    host = HOSTS["ubuntu2204-ovs"]
    _, units = generate(host, tmp_path)
    assert "cleanup" in units
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    for program in ("/usr/sbin/netplan", VSCTL):  # what the unit runs and its condition checks
        (tmp_path / program.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(program, tmp_path / program.lstrip("/"))
    f = rootfs(host)[netplan_ovs.CLEANUP_DROPIN]
    dropin = tmp_path / netplan_ovs.CLEANUP_DROPIN.lstrip("/")
    dropin.parent.mkdir(parents=True)
    dropin.write_bytes(f.content)
    unit = tmp_path / "run/systemd/system/netplan-ovs-cleanup.service"

    def verify() -> subprocess.CompletedProcess[str]:
        argv = ["systemd-analyze", "verify", f"--root={tmp_path}", "--man=no", str(unit)]
        return subprocess.run(argv, capture_output=True, text=True)

    good = verify()
    assert (good.returncode, good.stderr) == (0, ""), good.stderr
    # systemd reads the drop-in for netplan's unit: a broken value in it is reported.
    broken = f.content.decode().replace(f"={netplan_ovs.CLEANUP_TIMEOUT}", "=sixty")
    assert broken != f.content.decode()
    dropin.write_text(broken)
    assert "TimeoutStartSec" in verify().stderr
    merged = parse_unit(unit.read_text() + "\n" + f.content.decode())
    assert "ovs-vswitchd.service" in values(merged, "Unit", "After")
