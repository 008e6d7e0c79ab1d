"""Netplan (Ubuntu 18.04+, linux bridge): one file of our own that builds the whole topology.

`network_config(host)` is the version-2 mapping shared with cloud-init's network-config (the
seed ISO), so it holds only keys that both netplan 0.36+ and cloud-init's v2 parser accept:
- the default route is `routes: [{to: 0.0.0.0/0, via: ...}]` where netplan has no
  `to: default` (before 0.103: 18.04, 20.04's release pocket) and in cloud-init's document;
  the netplan file of a platform with netplan >= 0.103 says `to: default` (0.103 deprecated
  `gateway4`, and Debian 12's netplan warns about it);
- `mii-monitor-interval` is an integer of milliseconds (cloud-init maps it to bond-miimon);
- every interface says `dhcp4: false` / `dhcp6: false`, so that a leftover installer or cloud
  image file merged before ours cannot turn DHCP back on.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cloudbr import yamldump
from cloudbr.files import HEADER, SECRET, File, FileMap, Role
from cloudbr.model import Bond, Bridge, Dns, Host, Nic, Vlan
from cloudbr.platforms import platform
from cloudbr.topology import nic_mtu

NAME = "netplan"

# Sorts after the installer's 01-netcfg.yaml and cloud-init's 50-cloud-init.yaml, so that on
# any key they share ours wins (the installers' files are removed by the carriers anyway).
NETPLAN_FILE = "/etc/netplan/90-cloudbr.yaml"


DEFAULT4 = "0.0.0.0/0"
DEFAULT6 = "::/0"
# `to: default` (either family, from `via`) exists since netplan 0.103.
NETPLAN_TO_DEFAULT = (0, 103)


def _no_dhcp() -> dict[str, Any]:
    return {"dhcp4": False, "dhcp6": False}


def _with_mtu(conf: dict[str, Any], mtu: int | None) -> dict[str, Any]:
    if mtu is not None:
        conf["mtu"] = mtu
    return conf


def _ethernet(host: Host, nic: Nic) -> dict[str, Any]:
    conf = _no_dhcp()
    if nic.mac:
        # Pin the name to the hardware, whatever the kernel called it.
        conf["match"] = {"macaddress": nic.mac}
        conf["set-name"] = nic.name
    return _with_mtu(conf, nic_mtu(host, nic.name))


def bond_parameters(bond: Bond) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": bond.mode.value,
        # Without link monitoring a bond never notices a dead member and never fails over.
        "mii-monitor-interval": bond.miimon,
    }
    if bond.updelay:
        params["up-delay"] = bond.updelay
    if bond.downdelay:
        params["down-delay"] = bond.downdelay
    if bond.primary:
        params["primary"] = bond.primary
    if bond.lacp_rate:
        params["lacp-rate"] = bond.lacp_rate.value
    if bond.xmit_hash_policy:
        params["transmit-hash-policy"] = bond.xmit_hash_policy.value
    return params


def _bond(bond: Bond) -> dict[str, Any]:
    conf = _no_dhcp()
    conf["interfaces"] = list(bond.members)
    conf["parameters"] = bond_parameters(bond)
    return _with_mtu(conf, bond.mtu)


def _vlan(vlan: Vlan) -> dict[str, Any]:
    conf = _no_dhcp()
    conf["id"] = vlan.id
    conf["link"] = vlan.device.name
    return _with_mtu(conf, vlan.mtu)


def _nameservers(dns: Dns) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if dns.servers:
        out["addresses"] = [str(s) for s in dns.servers]
    if dns.search:
        out["search"] = list(dns.search)
    return out


def to_default(host: Host) -> bool:
    """Whether the host's netplan file may say `to: default` (never cloud-init's document)."""
    version = platform(host).netplan
    return version is not None and version >= NETPLAN_TO_DEFAULT


def routes(
    gw4: ipaddress.IPv4Address | None,
    gw6: ipaddress.IPv6Address | None,
    default: bool = False,
) -> list[dict[str, str]]:
    out = []
    if gw4:
        out.append({"to": "default" if default else DEFAULT4, "via": str(gw4)})
    if gw6:
        out.append({"to": "default" if default else DEFAULT6, "via": str(gw6)})
    return out


def _bridge(bridge: Bridge, gateway6_key: bool, default: bool) -> dict[str, Any]:
    conf = _no_dhcp()
    # An empty list is valid: a bridge that only carries guests' traffic may have no uplink.
    conf["interfaces"] = [bridge.uplink.name] if bridge.uplink else []
    if bridge.addresses:
        conf["addresses"] = [str(a) for a in bridge.addresses]
    gateway6 = None if gateway6_key else bridge.gateway6
    default_routes = routes(bridge.gateway4, gateway6, default)
    if default_routes:
        conf["routes"] = default_routes
    if gateway6_key and bridge.gateway6:
        conf["gateway6"] = str(bridge.gateway6)
    if bridge.dns:
        conf["nameservers"] = _nameservers(bridge.dns)
    conf["parameters"] = {"stp": bridge.stp, "forward-delay": bridge.forward_delay}
    return _with_mtu(conf, bridge.mtu)


def network_config(
    host: Host, *, gateway6_key: bool = False, default_form: bool = False
) -> dict[str, Any]:
    """The version-2 network mapping (no top-level `network:` key, no `renderer`).

    gateway6_key: the IPv6 default route as `gateway6` instead of a `::/0` route (cloud-init's
    document: 19.4's sysconfig renderer fails on the route; every version reads `gateway6`).
    default_form: the default routes say `to: default` (the netplan file of a platform whose
    netplan has it; cloud-init 22.4's v2 parser refuses it: "Address default is not a valid
    ip network").
    """
    default = default_form and not gateway6_key
    config: dict[str, Any] = {"version": 2}
    config["ethernets"] = {nic.name: _ethernet(host, nic) for nic in host.nics}
    if host.bonds:
        config["bonds"] = {bond.name: _bond(bond) for bond in host.bonds}
    if host.vlans:
        config["vlans"] = {vlan.name: _vlan(vlan) for vlan in host.vlans}
    if host.bridges:
        config["bridges"] = {b.name: _bridge(b, gateway6_key, default) for b in host.bridges}
    no_link_local(host, config)
    return config


def no_link_local(host: Host, config: dict[str, Any]) -> None:
    if not host.ipv6 and platform(host).netplan_link_local:
        # networkd turns IPv6 back on for link-local addresses whatever sysctl says. Netplan
        # before 0.39 (bionic's release pocket) refuses the key: the preseed installs 0.99+.
        for section in ("ethernets", "bonds", "vlans", "bridges"):
            for conf in config.get(section, {}).values():
                conf["link-local"] = []


def document(host: Host, config: dict[str, Any] | None = None) -> str:
    config = network_config(host, default_form=to_default(host)) if config is None else config
    netplan = {"network": {**config, "renderer": "networkd"}}
    return HEADER + yamldump.dump(netplan, default_flow_style=False)


def render(host: Host) -> FileMap:
    # netplan warns about (and newer versions refuse) configuration readable by others.
    return {NETPLAN_FILE: File.text(document(host), mode=SECRET, renderer=NAME, role=Role.NETWORK)}
