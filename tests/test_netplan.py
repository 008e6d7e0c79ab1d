"""Netplan files, proven by Debian's `netplan generate --root-dir` and the networkd units it
writes (parsed and compared with the model), plus the reference post's YAML."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudbr.model import Host
from cloudbr.render import debian_extras, netplan
from tests.support import preloaded
from tests.test_eni import GOLDEN, HOSTS, check_golden, variant

NETPLAN_HOSTS = {
    name: HOSTS[name]
    for name in ("ubuntu1804-bridge", "variant-ubuntu1804-bridge", "lab-kvm-u18-br")
}
# network_config() is also cloud-init's network-config v2 for every Debian-family host.
ALL_HOSTS = {
    **NETPLAN_HOSTS,
    "variant-bridge": variant(),
    "debian12-bridge": HOSTS["debian12-bridge"],
}

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(text: str) -> Unit:
    """systemd unit syntax; keys may repeat (Address=, DNS=), so keep every pair in order."""
    sections: Unit = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key, value))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def generate(host: Host, root: Path) -> dict[str, Unit]:
    files = netplan.render(host)
    f = files[netplan.NETPLAN_FILE]
    assert f.mode == 0o600
    target = root / netplan.NETPLAN_FILE.lstrip("/")
    target.parent.mkdir(parents=True)
    target.write_bytes(f.content)
    target.chmod(f.mode)
    out = subprocess.run(
        ["netplan", "generate", "--root-dir", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    # No warnings at all: e.g. `gateway4` would be reported as deprecated here.
    assert out.stderr == "", out.stderr
    assert out.stdout == "", out.stdout
    units = {}
    for p in sorted((root / "run/systemd/network").iterdir()):
        units[p.name.removeprefix("10-netplan-")] = parse_unit(p.read_text())
    return units


@pytest.mark.parametrize("name", sorted(NETPLAN_HOSTS))
def test_netplan_generate_builds_the_topology(name: str, tmp_path: Path) -> None:
    host = NETPLAN_HOSTS[name]
    units = generate(host, tmp_path)
    for bond in host.bonds:
        dev = units[f"{bond.name}.netdev"]
        assert values(dev, "NetDev", "Kind") == ["bond"]
        assert values(dev, "Bond", "Mode") == [bond.mode.value]
        assert values(dev, "Bond", "MIIMonitorSec") == [f"{bond.miimon}ms"]
        if bond.lacp_rate:
            assert values(dev, "Bond", "LACPTransmitRate") == [bond.lacp_rate.value]
        if bond.xmit_hash_policy:
            assert values(dev, "Bond", "TransmitHashPolicy") == [bond.xmit_hash_policy.value]
        if bond.updelay:
            assert values(dev, "Bond", "UpDelaySec") == [f"{bond.updelay}ms"]
        for member in bond.members:
            net = units[f"{member}.network"]
            assert values(net, "Network", "Bond") == [bond.name]
            primary = values(net, "Network", "PrimarySlave")
            assert primary == (["true"] if member == bond.primary else [])
    for bridge in host.bridges:
        dev = units[f"{bridge.name}.netdev"]
        assert values(dev, "NetDev", "Kind") == ["bridge"]
        assert values(dev, "Bridge", "STP") == [str(bridge.stp).lower()]
        assert values(dev, "Bridge", "ForwardDelaySec") == [str(bridge.forward_delay)]
        net = units[f"{bridge.name}.network"]
        assert values(net, "Network", "Address") == [str(a) for a in bridge.addresses]
        assert values(net, "Network", "DNS") == [str(s) for s in bridge.dns.servers]
        gateways = values(net, "Route", "Gateway")
        expected = [str(g) for g in (bridge.gateway4, bridge.gateway6) if g]
        assert gateways == expected
        if bridge.mtu:
            assert values(net, "Link", "MTUBytes") == [str(bridge.mtu)]
        if bridge.uplink:
            uplink = units[f"{bridge.uplink.name}.network"]
            assert values(uplink, "Network", "Bridge") == [bridge.name]
    for vlan in host.vlans:
        dev = units[f"{vlan.name}.netdev"]
        assert values(dev, "NetDev", "Kind") == ["vlan"]
        assert values(dev, "VLAN", "Id") == [str(vlan.id)]
        assert vlan.name in values(units[f"{vlan.device.name}.network"], "Network", "VLAN")
    for nic in host.nics:
        if nic.mac:
            link = units[f"{nic.name}.link"]
            assert values(link, "Match", "PermanentMACAddress") == [nic.mac]
            assert values(link, "Link", "Name") == [nic.name]
    # DHCP is off everywhere, even if another file merged before ours turned it on.
    assert not any(values(u, "Network", "DHCP") for u in units.values())


def test_reference_host_values(tmp_path: Path) -> None:
    """Literal values of the post's host, independent of the model's helpers."""
    units = generate(HOSTS["ubuntu1804-bridge"], tmp_path)
    assert values(units["bond0.netdev"], "Bond", "MIIMonitorSec") == ["100ms"]
    assert values(units["bond0.netdev"], "Bond", "Mode") == ["active-backup"]
    assert values(units["eth0.network"], "Network", "PrimarySlave") == ["true"]
    assert values(units["eth2.network"], "Network", "PrimarySlave") == ["true"]
    assert values(units["bond0.100.netdev"], "VLAN", "Id") == ["100"]
    assert values(units["cloudbr0.network"], "Network", "Address") == ["192.168.100.20/24"]
    assert values(units["cloudbr0.network"], "Route", "Gateway") == ["192.168.100.1"]
    assert values(units["cloudbr0.network"], "Route", "Destination") == ["0.0.0.0/0"]
    assert values(units["cloudbr100.network"], "Network", "Address") == ["10.0.100.20/24"]
    assert values(units["bond0.100.network"], "Network", "Bridge") == ["cloudbr100"]
    assert values(units["cloudbr0.network"], "Network", "Domains") == ["mycloud.local"]


def test_gateway4_would_warn(tmp_path: Path) -> None:
    """Why routes: Debian 12's netplan warns about gateway4, which the test above forbids."""
    doc = yaml.safe_load(netplan.document(HOSTS["ubuntu1804-bridge"]))
    br = doc["network"]["bridges"]["cloudbr0"]
    br["gateway4"] = br.pop("routes")[0]["via"]
    target = tmp_path / "etc/netplan/x.yaml"
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(doc))
    target.chmod(0o600)
    out = subprocess.run(
        ["netplan", "generate", "--root-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert "deprecated" in out.stderr


@pytest.mark.parametrize("name", sorted(ALL_HOSTS))
def test_network_config_is_accepted_by_cloud_init(name: str, tmp_path: Path) -> None:
    """The same mapping is cloud-init's network-config v2: its own converter must take it."""
    host = ALL_HOSTS[name]
    config = netplan.network_config(host)
    assert "renderer" not in config
    assert "network" not in config
    src = tmp_path / "network-config"
    src.write_text(yaml.safe_dump({"network": config}))
    out = subprocess.run(
        [
            "cloud-init",
            "devel",
            "net-convert",
            "-p",
            str(src),
            "-k",
            "yaml",
            "-d",
            str(tmp_path / "out"),
            "-D",
            "debian",
            "-O",
            "eni",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    eni = "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    for bond in host.bonds:
        assert f"bond-miimon {bond.miimon}" in eni
    for bridge in host.bridges:
        for addr in bridge.addresses:
            assert str(addr) in eni


def test_cloud_init_settings_are_valid_cloud_config(tmp_path: Path) -> None:
    f = debian_extras.render_cloud_cfg(HOSTS["ubuntu1804-bridge"])[debian_extras.CLOUD_CFG]
    doc = yaml.safe_load(f.content)
    assert doc == {"network": {"config": "disabled"}, "preserve_hostname": True}
    path = tmp_path / "cfg"
    path.write_bytes(b"#cloud-config\n" + f.content)
    out = preloaded.run(["cloud-init", "schema", "--config-file", str(path)], text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Valid" in out.stdout


def test_golden_netplan() -> None:
    text = netplan.render(HOSTS["ubuntu1804-bridge"])[netplan.NETPLAN_FILE].content.decode()
    check_golden(GOLDEN / "ubuntu1804-bridge/rootfs" / netplan.NETPLAN_FILE.lstrip("/"), text)


# The post's netplan YAML typed as published (its line breaks restored), with its optional
# storage VLAN merged in as it says ("add a VLAN and a new bridge to the above").
POST_NETPLAN = """\
network:
  ethernets:
    eth0:
      dhcp4: no
    eth1:
      dhcp4: no
    eth2:
      dhcp4: no
    eth3:
      dhcp4: no
  bonds:
    bond0:
      dhcp4: no
      interfaces:
        - eth0
        - eth1
      parameters:
        mode: active-backup
        primary: eth0
    bond1:
      dhcp4: no
      interfaces:
        - eth2
        - eth3
      parameters:
        mode: active-backup
        primary: eth2
  vlans:
    bond100:
      id: 100
      link: bond0
      dhcp4: no
  bridges:
    cloudbr0:
      addresses:
        - 192.168.100.20/24
      gateway4: 192.168.100.1
      nameservers:
        search: [mycloud.local]
        addresses: [192.168.100.5,192.168.100.6]
      interfaces:
        - bond0
    cloudbr1:
      dhcp4: no
      interfaces:
        - bond1
    cloudbr100:
      addresses:
        - 10.0.100.20/24
      interfaces:
        - bond100
  version: 2
"""


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_leaves(v, f"{prefix}/{k}"))
        return out
    return {prefix: node}


LINK_LOCAL = "ipv6: false: networkd would otherwise re-enable IPv6 for link-local addresses"
# Path prefix -> why ours differs. Every difference must fall under one, and each is used.
NETPLAN_CORRECTIONS = {
    "/network/renderer": "explicit networkd, the only renderer 18.04 servers ship",
    "/network/ethernets/eth0/dhcp6": "DHCP off explicitly on every interface",
    "/network/ethernets/eth1/dhcp6": "DHCP off explicitly on every interface",
    "/network/ethernets/eth2/dhcp6": "DHCP off explicitly on every interface",
    "/network/ethernets/eth3/dhcp6": "DHCP off explicitly on every interface",
    "/network/bonds/bond0/dhcp6": "DHCP off explicitly on every interface",
    "/network/bonds/bond1/dhcp6": "DHCP off explicitly on every interface",
    "/network/bonds/bond0/parameters/mii-monitor-interval": "miimon=100 stated, not written",
    "/network/bonds/bond1/parameters/mii-monitor-interval": "miimon=100 stated, not written",
    "/network/vlans/bond100": "VLAN device named bond0.100 (kernel default PARENT.ID)",
    "/network/vlans/bond0.100": "VLAN device named bond0.100 (kernel default PARENT.ID)",
    "/network/bridges/cloudbr0/gateway4": "routes to 0.0.0.0/0: gateway4 is deprecated",
    "/network/bridges/cloudbr0/routes": "routes to 0.0.0.0/0: gateway4 is deprecated",
    "/network/bridges/cloudbr0/dhcp": "DHCP off explicitly on every interface",
    "/network/bridges/cloudbr1/dhcp6": "DHCP off explicitly on every interface",
    "/network/bridges/cloudbr100/dhcp": "DHCP off explicitly on every interface",
    "/network/bridges/cloudbr100/interfaces": "VLAN device named bond0.100",
    "/network/bridges/cloudbr0/parameters": "explicit stp: false / forward-delay: 0",
    "/network/bridges/cloudbr1/parameters": "explicit stp: false / forward-delay: 0",
    "/network/bridges/cloudbr100/parameters": "explicit stp: false / forward-delay: 0",
    "/network/ethernets/eth0/link-local": LINK_LOCAL,
    "/network/ethernets/eth1/link-local": LINK_LOCAL,
    "/network/ethernets/eth2/link-local": LINK_LOCAL,
    "/network/ethernets/eth3/link-local": LINK_LOCAL,
    "/network/bonds/bond0/link-local": LINK_LOCAL,
    "/network/bonds/bond1/link-local": LINK_LOCAL,
    "/network/bridges/cloudbr0/link-local": LINK_LOCAL,
    "/network/bridges/cloudbr1/link-local": LINK_LOCAL,
    "/network/bridges/cloudbr100/link-local": LINK_LOCAL,
}


def test_reference_post_netplan() -> None:
    ours = _leaves(yaml.safe_load(netplan.document(HOSTS["ubuntu1804-bridge"])))
    post = _leaves(yaml.safe_load(POST_NETPLAN))
    differing = {k for k in ours.keys() | post.keys() if ours.get(k) != post.get(k)}
    used = set()
    for key in differing:
        reason = next((p for p in NETPLAN_CORRECTIONS if key.startswith(p)), None)
        assert reason is not None, f"undocumented difference at {key}"
        used.add(reason)
    assert used == set(NETPLAN_CORRECTIONS), set(NETPLAN_CORRECTIONS) - used
    # Agreement where the post is right: bonds, members, primaries, addresses, DNS.
    for key in (
        "/network/bonds/bond0/interfaces",
        "/network/bonds/bond1/parameters/primary",
        "/network/bridges/cloudbr0/addresses",
        "/network/bridges/cloudbr0/nameservers/search",
        "/network/bridges/cloudbr0/nameservers/addresses",
        "/network/ethernets/eth0/dhcp4",
    ):
        assert ours[key] == post[key], key
