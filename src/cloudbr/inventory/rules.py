"""Rules over a resolved host that no single field can check, so that `check` refuses what a
renderer or carrier could not write (kickstart `--device=link`, an ifcfg OVS bond without a
bridge, a preseed mirror d-i cannot use, ...)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from cloudbr.inventory.schema import BondIn
from cloudbr.inventory.source import Path
from cloudbr.model import Backend, Bridge, Host, IPAddress
from cloudbr.platforms import platform

# Linux gives every interface whose MTU is not set this MTU.
DEFAULT_MTU = 1500
FQDN_MAX = 253

Report = Callable[[Path, str], None]


def gateway_problem(gw: IPAddress, bridge: Bridge, family: int) -> str | None:
    """Why `gw` cannot be the default gateway of `bridge`, or None."""
    addresses = [a for a in bridge.addresses if a.version == family]
    if not addresses:
        return f"gateway {gw} is set on {bridge.name!r}, which has no IPv{family} address"
    if any(gw == a.ip for a in addresses):
        return f"gateway {gw} is the host's own address"
    if isinstance(gw, ipaddress.IPv6Address) and gw.is_link_local:
        return None  # reached on the bridge itself (fe80::/10 is on every IPv6 link)
    nets = [a.network for a in addresses]
    inside = [n for n in nets if gw in n]
    if not inside:
        return (
            f"gateway {gw} is outside the subnet of {bridge.name!r} "
            f"({', '.join(str(n) for n in nets)})"
        )
    for net in inside:
        if net.num_addresses > 2 and gw in (net.network_address, net.broadcast_address):
            what = "network" if gw == net.network_address else "broadcast"
            return f"gateway {gw} is the {what} address of {net}, not a router's address"
    return None


def check_fqdn(host: Host, path: Path, report: Report) -> None:
    if len(host.fqdn) > FQDN_MAX:
        report(
            path,
            f"FQDN {host.fqdn[:40]}... is {len(host.fqdn)} characters long; "
            f"DNS allows at most {FQDN_MAX}",
        )


def check_unreachable_gateways(host: Host, paths: dict[str, Path], report: Report) -> None:
    """A bridge with an address and a gateway but no uplink can never reach the gateway."""
    for b in host.bridges:
        if b.uplink is None and b.addresses and (b.gateway4 or b.gateway6):
            report(
                paths.get(b.name, ()),
                f"bridge {b.name!r} has an address and a gateway but no uplink: the gateway "
                "is unreachable (set 'uplink' to a bond or NIC)",
            )


def check_ovs_bonds(host: Host, bond_paths: list[Path], report: Report) -> None:
    """An Open vSwitch bond is a port of a bridge; there is no OVS bond outside one."""
    if host.backend is not Backend.OVS:
        return
    for bond, path in zip(host.bonds, bond_paths, strict=True):
        if host.bridge_of(bond.name) is None:
            report(
                (*path, "name"),
                f"Open vSwitch bond {bond.name!r} is no bridge's uplink: an OVS bond exists "
                "only as a bridge port (set it as a bridge's uplink or remove it)",
            )


def check_mirror(host: Host, path: Path, report: Report) -> None:
    mirror = host.installer.mirror
    installer = platform(host).installer
    schemes = installer.mirror_schemes
    if schemes and mirror and not mirror.startswith(schemes):
        names = [s.removesuffix("://") for s in schemes]
        report(
            (*path, "mirror"),
            f"{installer.program} needs an {', '.join(names[:-1])} or {names[-1]} mirror, "
            f"not {mirror.split(':')[0]}",
        )


def vlan_on_bond_member(parent: str, bonds: list[BondIn]) -> str | None:
    """Why a VLAN cannot sit on NIC `parent`, or None."""
    owner = next((b.name for b in bonds if parent in b.members), None)
    if owner is None:
        return None
    return (
        f"VLAN parent {parent!r} is a member of bond {owner!r}: a bond member carries no "
        f"traffic of its own; put the VLAN on {owner!r}"
    )


def mtu_problem(child: str, c: int | None, parent: str, p: int | None, *, default: bool) -> str:
    """'' when child's MTU fits its parent's; `default`: an unset parent MTU is Linux's 1500."""
    if c is None:
        return ""
    if p is not None and c > p:
        return f"MTU {c} of {child!r} is above the MTU {p} of its parent {parent!r}"
    if p is None and default and c > DEFAULT_MTU:
        return (
            f"MTU {c} of {child!r} is above the MTU of its parent {parent!r} ({DEFAULT_MTU}, "
            f"the default): set 'mtu' on {parent!r} too"
        )
    return ""
