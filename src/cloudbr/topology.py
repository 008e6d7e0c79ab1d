"""Topology facts, decided once: what each bridge's uplink is, the NIC the installer uses,
every interface's effective MTU, and the Open vSwitch first-boot plan as typed steps.

The renderers (ifcfg, interfaces(5), netplan, the first-boot plan, cloudbr-verify's plan) only
write these facts out in their own syntax; none of them decides any of it again.

Effective MTU rules (None: not set, the kernel's default applies):
- a bridge: its own `mtu`; an Open vSwitch fake bridge (a VLAN bridge) without one takes its
  VLAN's `mtu` (the fake bridge's internal port is the VLAN's only kernel device);
- a bond: its own `mtu`;
- a NIC: its own `mtu`; a bond member without one inherits its bond's (the kernel copies a
  bond's MTU to its members, and OVS bonds are no kernel device at all: the members are the
  only place an MTU can be set), so every format writes the same number on the member;
- a VLAN device (linux bridge): its own `mtu`.
Every format writes the same number for an interface (a member's own `mtu` too: the resolver
only lets it be at least the bond's; a Linux bond then applies its own MTU when it enslaves).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cloudbr.model import Backend, Bridge, Host, IPInterface, Uplink
from cloudbr.platforms import ovs_bond_options


def install_nic(host: Host) -> str | None:
    """The NIC the installer configures: the management bridge's uplink (or, for a VLAN
    bridge, the VLAN's device), or the primary (else first) member when that is a bond."""
    bridge = host.primary_bridge
    device = bridge.vlan.device.name if bridge.vlan else bridge.uplink_name
    if device is None:
        return None
    bond = next((b for b in host.bonds if b.name == device), None)
    if bond is None:
        return device
    return bond.primary or bond.members[0]


def bridge_mtu(host: Host, bridge: Bridge) -> int | None:
    if bridge.mtu is None and host.backend is Backend.OVS and bridge.vlan is not None:
        return bridge.vlan.mtu
    return bridge.mtu


def nic_mtu(host: Host, nic: str) -> int | None:
    own = host.nic(nic).mtu
    if own is not None:
        return own
    bond = host.bond_of(nic)
    return bond.mtu if bond else None


def mtus(host: Host) -> dict[str, int | None]:
    """Every kernel-visible interface name of the host's topology -> its effective MTU."""
    out: dict[str, int | None] = {n.name: nic_mtu(host, n.name) for n in host.nics}
    if host.backend is Backend.LINUXBRIDGE:
        out.update({b.name: b.mtu for b in host.bonds})
        out.update({v.name: v.mtu for v in host.vlans})
    out.update({b.name: bridge_mtu(host, b) for b in host.bridges})
    return out


def uplink_nics(host: Host, uplink: Uplink | None) -> tuple[str, ...]:
    """The NICs under an uplink: a bond's members, or the NIC itself."""
    if uplink is None:
        return ()
    if uplink.is_bond:
        return host.bond(uplink.name).members
    return (uplink.name,)


def port_nics(host: Host) -> tuple[str, ...]:
    """NICs that become OVS ports (bond members and NIC uplinks), in inventory order."""
    return tuple(n for br in host.plain_bridges for n in uplink_nics(host, br.uplink))


# --- the OVS first-boot plan as typed steps ---------------------------------------------------


@dataclass(frozen=True)
class WantBridge:
    name: str


@dataclass(frozen=True)
class WantVlanBridge:
    name: str
    parent: str
    tag: int


@dataclass(frozen=True)
class WantPort:
    bridge: str
    port: str
    ifaces: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WantMtu:
    iface: str
    mtu: int


@dataclass(frozen=True)
class WantLinkUp:
    dev: str


@dataclass(frozen=True)
class WantAddress:
    dev: str
    cidr: IPInterface


@dataclass(frozen=True)
class WantRoute:
    family: int
    dev: str
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class WantAddressOnlyOn:
    dev: str
    cidr: IPInterface


@dataclass(frozen=True)
class WantNoAddress:
    dev: str


@dataclass(frozen=True)
class WantDns:
    link: str
    servers: tuple[str, ...]
    search: tuple[str, ...]


Step = (
    WantBridge
    | WantVlanBridge
    | WantPort
    | WantMtu
    | WantLinkUp
    | WantAddress
    | WantRoute
    | WantAddressOnlyOn
    | WantNoAddress
    | WantDns
)


def _ports(host: Host) -> list[Step]:
    out: list[Step] = []
    for br in host.plain_bridges:
        uplink = br.uplink
        if uplink is None:
            continue
        opts = ovs_bond_options(host, host.bond(uplink.name)) if uplink.is_bond else ()
        out.append(WantPort(br.name, uplink.name, uplink_nics(host, uplink), opts))
    return out


def _routes(host: Host) -> list[Step]:
    out: list[Step] = []
    for b in host.bridges:
        if b.gateway4:
            out.append(WantRoute(4, b.name, b.gateway4))
        if b.gateway6:
            out.append(WantRoute(6, b.name, b.gateway6))
    return out


def dns_step(host: Host) -> WantDns | None:
    """The host's resolver settings, on the bridge that carries the first DNS servers."""
    with_dns = [b for b in host.bridges if b.dns.servers or b.dns.search]
    if not with_dns:
        return None
    servers = tuple(dict.fromkeys(str(s) for b in with_dns for s in b.dns.servers))
    search = tuple(dict.fromkeys(d for b in with_dns for d in b.dns.search))
    return WantDns(with_dns[0].name, servers, search)


def ovs_plan(host: Host) -> tuple[Step, ...]:
    """Steps in dependency order: bridges, ports, VLAN bridges, MTUs, links, new addresses,
    routes, the removal of addresses from where they were, then DNS."""
    steps: list[Step] = [WantBridge(b.name) for b in host.plain_bridges]
    steps += _ports(host)
    for b in host.bridges:
        if b.vlan is not None and b.vlan.parent_bridge is not None:
            steps.append(WantVlanBridge(b.name, b.vlan.parent_bridge, b.vlan.id))
    nics = port_nics(host)
    steps += [WantMtu(n, m) for n in nics if (m := nic_mtu(host, n))]
    steps += [WantMtu(b.name, m) for b in host.bridges if (m := bridge_mtu(host, b))]
    steps += [WantLinkUp(dev) for dev in (*nics, *(b.name for b in host.bridges))]
    addrs = [(b.name, a) for b in host.bridges for a in b.addresses]
    steps += [WantAddress(br, a) for br, a in addrs]
    # Routes move before the old addresses go, so the kernel never drops one on its own.
    steps += _routes(host)
    steps += [WantAddressOnlyOn(br, a) for br, a in addrs]
    steps += [WantNoAddress(n) for n in nics]
    if (dns := dns_step(host)) is not None:
        steps.append(dns)
    return tuple(steps)


def reach_target(host: Host) -> str:
    target = host.reachability_target or host.gateway4 or host.gateway6
    return str(target) if target else ""
