"""Rules over a resolved host that no single field can check, so that `check` refuses what a
renderer or carrier could not write (kickstart `--device=link`, an ifcfg OVS bond without a
bridge, a preseed mirror d-i cannot use, ...)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from cloudbr.inventory.schema import BondIn
from cloudbr.inventory.source import Path
from cloudbr.model import Backend, Bridge, DeviceKind, Host, IPAddress
from cloudbr.platform_types import (
    IFCFG_SKIPPED_SUFFIXES,
    VLAN_BY_NAME,
    InstallerCarrier,
    NetworkStack,
)
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


# debian-installer runs the late_command as one `sh -c` argument (MAX_ARG_STRLEN, 128 KiB),
# of which the preseed carrier keeps half: the keys (base64, which gzip barely shrinks) must
# leave room for the rest of the tree.
PRESEED_KEYS_MAX = 16 * 1024


def check_preseed_keys(host: Host, path: Path, report: Report) -> None:
    size = sum(len(k) + 1 for k in host.access.ssh_authorized_keys)
    installer = platform(host).installer
    if installer.carrier is InstallerCarrier.PRESEED and size > PRESEED_KEYS_MAX:
        report(
            path,
            f"{len(host.access.ssh_authorized_keys)} SSH keys of {size} bytes: the preseed's "
            f"late_command carries them, and {installer.program} gives it one argument; keep "
            f"them under {PRESEED_KEYS_MAX} bytes (fewer keys, or ed25519 ones)",
        )


def check_mirror(host: Host, path: Path, report: Report) -> None:
    """The mirror and repositories an installer is given: a scheme it fetches with."""
    installer = platform(host).installer
    schemes = installer.mirror_schemes
    names = [s.removesuffix("://") for s in schemes]
    urls = [(k, getattr(host.installer, k)) for k in ("mirror", "ovs_repo", "agent_repo")]
    for key, url in urls:
        if schemes and url and not url.startswith(schemes):
            report(
                (*path, key),
                f"{installer.program} needs an {', '.join(names[:-1])} or {names[-1]} "
                f"{key.replace('_', ' ')}, not {url.split(':')[0]}",
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


def _vlan_tool(stacks: frozenset[NetworkStack]) -> str:
    """The tool of `stacks` that reads VLANs from device names (see VLAN_BY_NAME)."""
    return "ifupdown" if NetworkStack.IFUPDOWN in stacks else "initscripts"


@functools.lru_cache(maxsize=4096)  # the same few names on every host
def interface_name_problem(
    name: str, kind: DeviceKind, stacks: frozenset[NetworkStack], linux_bridge: bool
) -> str | None:
    """Why the host's network stack would not bring up an interface so named, or None (a
    VLAN device's name is `vlan_name_problem`'s). Dotted names matter to kernel VLANs only:
    with Open vSwitch the first-boot program builds the ports, whatever their names."""
    skipped = next((s for s in IFCFG_SKIPPED_SUFFIXES if name.endswith(s)), None)
    if NetworkStack.IFCFG in stacks and skipped:
        return f"the network service never brings up ifcfg-{name} (names ending {skipped!r})"
    if stacks & VLAN_BY_NAME and "." in name and kind is not DeviceKind.VLAN and linux_bridge:
        tool = _vlan_tool(stacks)
        return f"{kind.value} name {name!r} has a '.': {tool} would take it for a VLAN device"
    return None


@functools.lru_cache(maxsize=4096)
def vlan_name_problem(
    name: str, parent: str, vlan_id: int, stacks: frozenset[NetworkStack]
) -> str | None:
    """Where the stack reads a VLAN's id and parent from its device name, the name must say
    them: `bond0.7` for VLAN 200 would be tagged 7. Both tools also take `vlan<id>` (with the
    parent from vlan-raw-device or PHYSDEV)."""
    expected = f"{parent}.{vlan_id}"
    if stacks & VLAN_BY_NAME and name not in (expected, f"vlan{vlan_id}"):
        return (
            f"VLAN device name {name!r}: {_vlan_tool(stacks)} takes a VLAN's id and parent "
            f"from its name: name it {expected!r} (or leave 'name' out)"
        )
    return interface_name_problem(name, DeviceKind.VLAN, stacks, linux_bridge=True)
