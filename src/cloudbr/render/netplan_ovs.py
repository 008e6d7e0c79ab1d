"""Netplan-native Open vSwitch (Ubuntu 22.04+, netplan >= 0.100): one netplan file builds the
whole OVS topology, with no first-boot program and no ifupdown.

What netplan makes of it, read from netplan 0.106's src/openvswitch.c and src/parse.c (and
proven here by `netplan generate`, in e2e by a booted guest's OVSDB):
- a bridge or bond with an `openvswitch:` mapping is an OVS one; netplan writes one oneshot
  unit per device (`netplan-ovs-<id>.service`, wanted by systemd-networkd) that runs
  `ovs-vsctl --may-exist add-br`/`add-bond`, and networkd keeps the addresses and routes;
- a bond: `add-bond <bridge> <bond> <members>`, `lacp=` from `openvswitch: {lacp:}` (off by
  default), `bond_mode=` from `parameters: {mode:}` (active-backup, balance-slb, balance-tcp).
  Netplan drops `mii-monitor-interval`, `up-delay`, `down-delay` and `primary` of an OVS
  bond silently, so link monitoring goes through `other-config` (`bond-detect-mode: miimon`,
  `bond-miimon-interval`), as do `bond-primary` and `lacp-time`. `bond_updelay` and
  `bond_downdelay` are Port columns that netplan cannot set: `check` warns about them;
- a bridge: `set-fail-mode <bridge> standalone` is netplan's default; it is written anyway,
  because a bridge in `secure` mode passes no traffic without a controller
  (apache/cloudstack#8983);
- a VLAN whose `link` is an OVS bridge is a fake bridge (`add-br cloudbr100 cloudbr0 100`):
  the VLAN definition is named after the VLAN bridge and carries that bridge's addresses;
- `external-ids` become `ovs-vsctl set <table> <id> external-ids:KEY=VALUE`: every bridge,
  bond and VLAN bridge carries `cloudbr-owner: <hostname>`, the key the OVS first-boot
  program uses, so either can tell cloudbr's devices from an operator's.
"""

from __future__ import annotations

from typing import Any

from cloudbr.files import HEADER, SECRET, File, FileMap, Role
from cloudbr.model import Bond, Bridge, Host, OvsLacp
from cloudbr.platforms import ovs_bond_options, platform
from cloudbr.render import netplan
from cloudbr.topology import bridge_mtu

NAME = "netplan_ovs"
NETPLAN_FILE = netplan.NETPLAN_FILE
# The `openvswitch:` sections appeared in netplan 0.100.
NETPLAN_OVS = (0, 100)
OWNER_KEY = "cloudbr-owner"
FAIL_MODE = "standalone"
# Port columns `ovs-vsctl add-bond` takes that netplan 0.106 has no key for.
NOT_IN_NETPLAN = frozenset({"bond_updelay", "bond_downdelay"})


def supported(host: Host) -> bool:
    version = platform(host).netplan
    return version is not None and version >= NETPLAN_OVS


def _owner(host: Host) -> dict[str, str]:
    return {OWNER_KEY: host.hostname}


def other_config(host: Host, bond: Bond) -> dict[str, str]:
    """The bond's `other_config` column, from the same options the first boot sets."""
    prefix = "other_config:"
    return {
        key[len(prefix) :]: value
        for key, value in ovs_bond_options(host, bond)
        if key.startswith(prefix)
    }


def unsupported_options(bond: Bond) -> list[str]:
    """The bond's options netplan cannot carry to OVS (non-default values only)."""
    out = []
    if bond.updelay:
        out.append(f"updelay {bond.updelay}")
    if bond.downdelay:
        out.append(f"downdelay {bond.downdelay}")
    return out


def _bond(host: Host, bond: Bond) -> dict[str, Any]:
    conf = netplan._no_dhcp()
    conf["interfaces"] = list(bond.members)
    conf["parameters"] = {"mode": bond.mode.value}
    ovs: dict[str, Any] = {}
    if bond.ovs_lacp is not OvsLacp.OFF:
        ovs["lacp"] = bond.ovs_lacp.value
    ovs["other-config"] = other_config(host, bond)
    ovs["external-ids"] = _owner(host)
    conf["openvswitch"] = ovs
    # No MTU here: an OVS bond is no kernel device; its members carry its MTU (topology).
    return conf


def _addressing(bridge: Bridge, default: bool) -> dict[str, Any]:
    conf: dict[str, Any] = {}
    if bridge.addresses:
        conf["addresses"] = [str(a) for a in bridge.addresses]
    default_routes = netplan.routes(bridge.gateway4, bridge.gateway6, default)
    if default_routes:
        conf["routes"] = default_routes
    if bridge.dns:
        conf["nameservers"] = netplan._nameservers(bridge.dns)
    return conf


def _bridge(host: Host, bridge: Bridge, default: bool) -> dict[str, Any]:
    conf = netplan._no_dhcp()
    conf["interfaces"] = [bridge.uplink_name] if bridge.uplink_name else []
    conf.update(_addressing(bridge, default))
    conf["openvswitch"] = {"fail-mode": FAIL_MODE, "external-ids": _owner(host)}
    return netplan._with_mtu(conf, bridge_mtu(host, bridge))


def _vlan_bridge(host: Host, bridge: Bridge, default: bool) -> dict[str, Any]:
    assert bridge.vlan is not None
    assert bridge.vlan.parent_bridge is not None
    conf = netplan._no_dhcp()
    conf["id"] = bridge.vlan.id
    conf["link"] = bridge.vlan.parent_bridge
    conf.update(_addressing(bridge, default))
    conf["openvswitch"] = {"external-ids": _owner(host)}
    return netplan._with_mtu(conf, bridge_mtu(host, bridge))


def network_config(host: Host) -> dict[str, Any]:
    """The version-2 mapping of the whole OVS topology (no `network:` key, no renderer)."""
    default = netplan.to_default(host)
    config: dict[str, Any] = {"version": 2}
    config["ethernets"] = {nic.name: netplan._ethernet(host, nic) for nic in host.nics}
    if host.bonds:
        config["bonds"] = {bond.name: _bond(host, bond) for bond in host.bonds}
    config["bridges"] = {b.name: _bridge(host, b, default) for b in host.plain_bridges}
    vlan_bridges = [b for b in host.bridges if b.vlan is not None]
    if vlan_bridges:
        config["vlans"] = {b.name: _vlan_bridge(host, b, default) for b in vlan_bridges}
    netplan.no_link_local(host, config)
    return config


CLEANUP_DROPIN = "/etc/systemd/system/netplan-ovs-cleanup.service.d/cloudbr.conf"
# Found booted (e2e, power cycle): netplan orders its OVS units after ovsdb-server only, and
# their `ovs-vsctl` calls wait for ovs-vswitchd to apply each change. On a reboot OVSDB holds
# netplan's tagged settings, which `netplan apply --only-ovs-cleanup` clears one call at a
# time before ovs-vswitchd is up, so the cleanup hit its TimeoutStartSec=10s and failed; with
# the ordering, a loaded 2-core machine's guests still needed more than 60 s for it.
CLEANUP_TIMEOUT = "300s"
CLEANUP_ORDER = f"""{HEADER}[Unit]
Wants=ovs-vswitchd.service
After=ovs-vswitchd.service

[Service]
# It runs one ovs-vsctl per netplan-tagged setting (about 80 for the reference host) from a
# python program: a fraction of a second on a host, 25 s of CPU in an emulated (TCG) guest.
TimeoutStartSec={CLEANUP_TIMEOUT}
"""


def activation(host: Host) -> list[list[str]]:
    """What a seed runs once write_files laid the file down: netplan's generator ran before it,
    so nothing would build the OVS topology until the next boot."""
    return [["netplan", "apply"]]


def render(host: Host) -> FileMap:
    text = netplan.document(host, network_config(host))
    return {
        # netplan warns about (and newer versions refuse) configuration readable by others.
        NETPLAN_FILE: File.text(text, mode=SECRET, renderer=NAME, role=Role.NETWORK),
        CLEANUP_DROPIN: File.text(CLEANUP_ORDER, renderer=NAME, role=Role.NETWORK),
    }
