"""The resolved host model that every renderer consumes.

Everything here is frozen and already validated: renderers never re-check input, they only
translate these facts into a file format. Site defaults have been applied, names are safe
for shell and for the kernel (IFNAMSIZ), and addresses are `ipaddress` objects.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudbr.pxe_model import PxeSite

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Kernel interface names: IFNAMSIZ is 16 including the trailing NUL.
IFNAMSIZ = 15
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")  # whole value: use fullmatch
LEGACY_NIC_PATTERN = re.compile(r"eth[0-9]+")  # whole value: use fullmatch


class Family(StrEnum):
    """A distro's family (cloudbr.platforms says which; nothing else branches on it)."""

    RHEL = "rhel"
    DEBIAN = "debian"


class Distro(StrEnum):
    CENTOS7 = "centos7"
    EL8 = "el8"
    EL9 = "el9"
    UBUNTU1804 = "ubuntu1804"
    UBUNTU2004 = "ubuntu2004"
    UBUNTU2204 = "ubuntu2204"
    UBUNTU2404 = "ubuntu2404"
    DEBIAN12 = "debian12"


class Backend(StrEnum):
    LINUXBRIDGE = "linuxbridge"
    OVS = "ovs"


class BondMode(StrEnum):
    BALANCE_RR = "balance-rr"
    ACTIVE_BACKUP = "active-backup"
    BALANCE_XOR = "balance-xor"
    BROADCAST = "broadcast"
    LACP = "802.3ad"
    BALANCE_TLB = "balance-tlb"
    BALANCE_ALB = "balance-alb"
    # Open vSwitch only
    BALANCE_SLB = "balance-slb"
    BALANCE_TCP = "balance-tcp"


LINUX_BOND_MODES: frozenset[BondMode] = frozenset(BondMode) - {
    BondMode.BALANCE_SLB,
    BondMode.BALANCE_TCP,
}
OVS_BOND_MODES: frozenset[BondMode] = frozenset(
    {BondMode.ACTIVE_BACKUP, BondMode.BALANCE_SLB, BondMode.BALANCE_TCP}
)


class LacpRate(StrEnum):
    SLOW = "slow"
    FAST = "fast"


class OvsLacp(StrEnum):
    OFF = "off"
    ACTIVE = "active"
    PASSIVE = "passive"


class XmitHashPolicy(StrEnum):
    LAYER2 = "layer2"
    LAYER2_3 = "layer2+3"
    LAYER3_4 = "layer3+4"
    ENCAP2_3 = "encap2+3"
    ENCAP3_4 = "encap3+4"


class DeviceKind(StrEnum):
    """What an interface name of a host's topology stands for (the value names it in messages)."""

    NIC = "NIC"
    BOND = "bond"
    VLAN = "VLAN device"
    BRIDGE = "bridge"


@dataclass(frozen=True)
class Uplink:
    """A bridge's uplink: one of the host's NICs or bonds, or (linux bridge) the VLAN device
    of a VLAN bridge."""

    name: str
    kind: DeviceKind

    def __post_init__(self) -> None:
        if self.kind is DeviceKind.BRIDGE:
            raise ValueError(f"uplink {self.name!r}: a bridge is no uplink")

    @property
    def is_bond(self) -> bool:
        return self.kind is DeviceKind.BOND


@dataclass(frozen=True)
class Nic:
    name: str
    mac: str | None = None  # lower-case, colon separated
    mtu: int | None = None


@dataclass(frozen=True)
class Bond:
    name: str
    members: tuple[str, ...]
    mode: BondMode
    miimon: int
    updelay: int = 0
    downdelay: int = 0
    primary: str | None = None
    lacp_rate: LacpRate | None = None
    xmit_hash_policy: XmitHashPolicy | None = None
    # OVS LACP negotiation; "active" when an OVS bond uses balance-tcp/balance-slb with LACP.
    ovs_lacp: OvsLacp = OvsLacp.OFF
    mtu: int | None = None

    def linux_options(self) -> tuple[tuple[str, str], ...]:
        """Kernel bonding options in the order the bonding driver documents them."""
        opts: list[tuple[str, str]] = [
            ("mode", self.mode.value),
            ("miimon", str(self.miimon)),
            ("updelay", str(self.updelay)),
            ("downdelay", str(self.downdelay)),
        ]
        if self.primary:
            opts.append(("primary", self.primary))
        if self.lacp_rate:
            opts.append(("lacp_rate", self.lacp_rate.value))
        if self.xmit_hash_policy:
            opts.append(("xmit_hash_policy", self.xmit_hash_policy.value))
        return tuple(opts)

    def ovs_options(self) -> tuple[tuple[str, str], ...]:
        """Port columns for `ovs-vsctl add-bond ... KEY=VALUE` (bond-detect-mode is what makes
        OVS poll carrier every miimon ms; without it OVS never notices a dead link quickly)."""
        opts: list[tuple[str, str]] = [
            ("bond_mode", self.mode.value),
            ("lacp", self.ovs_lacp.value),
            ("other_config:bond-detect-mode", "miimon"),
            ("other_config:bond-miimon-interval", str(self.miimon)),
            ("bond_updelay", str(self.updelay)),
            ("bond_downdelay", str(self.downdelay)),
        ]
        if self.primary and self.mode is BondMode.ACTIVE_BACKUP:
            opts.append(("other_config:bond-primary", self.primary))
        if self.lacp_rate and self.ovs_lacp is not OvsLacp.OFF:
            opts.append(("other_config:lacp-time", self.lacp_rate.value))
        return tuple(opts)


@dataclass(frozen=True)
class Dns:
    servers: tuple[IPAddress, ...] = ()
    search: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.servers or self.search)


@dataclass(frozen=True)
class Vlan:
    """An 802.1Q VLAN carried by a bridge of its own.

    linux bridge: a VLAN device `name` (e.g. bond0.100) on `device`, enslaved to `bridge`.
    Open vSwitch: `bridge` is a fake bridge on `parent_bridge` with tag `id`.
    """

    id: int
    name: str
    device: Uplink  # the NIC or bond (or VLAN device) that carries the tag
    parent_bridge: str | None
    bridge: str
    mtu: int | None = None


@dataclass(frozen=True)
class Bridge:
    name: str
    uplink: Uplink | None
    addresses: tuple[IPInterface, ...] = ()
    gateway4: ipaddress.IPv4Address | None = None
    gateway6: ipaddress.IPv6Address | None = None
    dns: Dns = field(default_factory=Dns)
    mtu: int | None = None
    stp: bool = False
    forward_delay: int = 0
    vlan: Vlan | None = None  # set when this bridge carries a VLAN (OVS: a fake bridge)

    @property
    def uplink_name(self) -> str | None:
        return self.uplink.name if self.uplink else None

    @property
    def ipv4(self) -> tuple[ipaddress.IPv4Interface, ...]:
        return tuple(a for a in self.addresses if isinstance(a, ipaddress.IPv4Interface))

    @property
    def ipv6(self) -> tuple[ipaddress.IPv6Interface, ...]:
        return tuple(a for a in self.addresses if isinstance(a, ipaddress.IPv6Interface))


@dataclass(frozen=True)
class TrafficLabels:
    """CloudStack KVM traffic labels: which bridge carries each traffic type."""

    management: str
    guest: str
    public: str
    storage: str | None = None

    def items(self) -> tuple[tuple[str, str], ...]:
        pairs = [("management", self.management), ("guest", self.guest), ("public", self.public)]
        if self.storage:
            pairs.append(("storage", self.storage))
        return tuple(pairs)


@dataclass(frozen=True)
class Access:
    root_password_hash: str | None = None  # SHA-512 crypt ($6$...), never plaintext
    ssh_authorized_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Installer:
    """Install-time settings for the carriers (kickstart, preseed, images)."""

    mirror: str | None = None  # None: the distro's public default
    ovs_repo: str | None = None
    agent_repo: str | None = None
    install_agent: bool = False
    disk: str | None = None  # None: the installer's first disk
    timezone: str = "UTC"
    keyboard: str = "us"
    locale: str = "en_US.UTF-8"


@dataclass(frozen=True)
class Host:
    hostname: str
    domain: str | None
    distro: Distro
    backend: Backend
    nics: tuple[Nic, ...]
    bonds: tuple[Bond, ...]
    bridges: tuple[Bridge, ...]
    vlans: tuple[Vlan, ...]
    dns: Dns
    ipv6: bool
    traffic_labels: TrafficLabels
    blacklist_bridge_module: bool
    access: Access
    installer: Installer
    # First-boot safety check target (OVS): defaults to the default gateway.
    reachability_target: IPAddress | None = None

    @property
    def fqdn(self) -> str:
        return f"{self.hostname}.{self.domain}" if self.domain else self.hostname

    @property
    def legacy_nic_names(self) -> bool:
        """True when NICs are named ethN, which needs net.ifnames=0 biosdevname=0."""
        return any(LEGACY_NIC_PATTERN.fullmatch(n.name) for n in self.nics)

    @property
    def kernel_args(self) -> tuple[str, ...]:
        """The installed system's (and installer's) extra kernel arguments: ethN names need
        `net.ifnames=0 biosdevname=0`, or eth0 comes up as ens3 and nothing matches it."""
        return ("net.ifnames=0", "biosdevname=0") if self.legacy_nic_names else ()

    def bridge(self, name: str) -> Bridge:
        for b in self.bridges:
            if b.name == name:
                return b
        raise KeyError(name)

    def bond(self, name: str) -> Bond:
        for b in self.bonds:
            if b.name == name:
                return b
        raise KeyError(name)

    def nic(self, name: str) -> Nic:
        for n in self.nics:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def plain_bridges(self) -> tuple[Bridge, ...]:
        """Bridges that are not VLAN bridges, in inventory order."""
        return tuple(b for b in self.bridges if b.vlan is None)

    @property
    def primary_bridge(self) -> Bridge:
        """The bridge that carries the host's management address."""
        return self.bridge(self.traffic_labels.management)

    @property
    def primary_address(self) -> IPInterface | None:
        """The management address installers and CloudStack use: the bridge's first IPv4,
        wherever it is listed (the PXE entries and dnsmasq take that one), else its first."""
        bridge = self.primary_bridge
        return next(iter(bridge.ipv4), None) or next(iter(bridge.addresses), None)

    @property
    def addresses(self) -> tuple[IPInterface, ...]:
        return tuple(a for b in self.bridges for a in b.addresses)

    @property
    def gateway4(self) -> ipaddress.IPv4Address | None:
        return next((b.gateway4 for b in self.bridges if b.gateway4), None)

    @property
    def gateway6(self) -> ipaddress.IPv6Address | None:
        return next((b.gateway6 for b in self.bridges if b.gateway6), None)

    def members_of(self, bond: str) -> tuple[Nic, ...]:
        return tuple(self.nic(m) for m in self.bond(bond).members)

    def bond_of(self, nic: str) -> Bond | None:
        return next((b for b in self.bonds if nic in b.members), None)

    def bridge_of(self, device: str) -> Bridge | None:
        """The bridge whose uplink is `device` (a bond, NIC or VLAN device)."""
        return next((b for b in self.bridges if b.uplink_name == device), None)

    def vlans_on(self, device: str) -> tuple[Vlan, ...]:
        return tuple(v for v in self.vlans if v.device.name == device)


@dataclass(frozen=True)
class Inventory:
    source: str
    hosts: tuple[Host, ...]
    pxe: PxeSite | None = None

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if name in (h.hostname, h.fqdn):
                return h
        raise KeyError(name)
