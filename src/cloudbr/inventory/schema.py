"""The inventory's input schema: what operators may write, and nothing else.

Only shape and single-field rules live here (types, ranges, name syntax, address syntax).
Rules that relate several fields or hosts live in `resolve`, which produces the model.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from cloudbr.inventory import ipfast, sshkeys, xkb
from cloudbr.inventory.pxe import PxeIn
from cloudbr.model import (
    IFNAMSIZ,
    NAME_PATTERN,
    Backend,
    BondMode,
    Distro,
    LacpRate,
    XmitHashPolicy,
)

MAC_PATTERN = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# rounds=: 1000-999999999 as libxcrypt (Debian 12, EL8/9) writes it; it refuses any other
# spelling, and such a hash would never match the password.
ROUNDS = r"[1-9][0-9]{3,8}"
SHA512_CRYPT = re.compile(rf"\$6\$(rounds={ROUNDS}\$)?[./A-Za-z0-9]{{1,16}}\$[./A-Za-z0-9]{{86}}")
SSH_KEY = re.compile(
    r"(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)"
    r"@openssh\.com) [A-Za-z0-9+/=]+( [^\x00-\x1f\x7f-\x9f\u2028\u2029]*)?"
)
# CloudStack's KVM agent only treats devices with these names as physical bridge ports
# (LibvirtComputingResource); a bridge on anything else is invisible to it.
CLOUDSTACK_PORT = re.compile(
    r"(eth|bond|vlan|em|ens|eno|enp|enx|team)[A-Za-z0-9_.-]*|p[0-9]+p[0-9]+[A-Za-z0-9_.-]*"
)
RESERVED_NAMES = frozenset({"cloud0", "lo", "ovs-system"})
# Names that collide with kernel entries: /proc/sys/net/*/conf/{all,default} and
# /sys/class/net/bonding_masters.
KERNEL_NAMES = frozenset({"all", "default", "bonding_masters"})
# Plain URLs: scheme, host (or [IPv6]), optional port and a path of safe characters only, so
# that a URL is one word in kickstart, preseed, apt and yum files and in shell.
URL = re.compile(
    r"(https?|ftp|nfs)://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+=,@-]*)?"
)


def _ifname(value: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"interface name {value!r} may only contain letters, digits, '_', '.', '-'"
        )
    if not value[0].isalnum():
        # A leading '-' reads as an option to ip, ovs-vsctl and ifup.
        raise ValueError(f"interface name {value!r} must start with a letter or digit")
    if len(value) > IFNAMSIZ:
        raise ValueError(
            f"interface name {value!r} is {len(value)} characters long; "
            f"Linux allows at most {IFNAMSIZ} (IFNAMSIZ)"
        )
    if value in RESERVED_NAMES:
        raise ValueError(f"interface name {value!r} is reserved (cloud0 belongs to CloudStack)")
    if value in KERNEL_NAMES:
        raise ValueError(
            f"interface name {value!r} is reserved: it collides with the kernel's own "
            "/proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters"
        )
    return value


def _dns_name(value: str) -> str:
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(DNS_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{value!r} is not a valid DNS name (labels of letters, digits and '-', "
            "1-63 characters, not starting or ending with '-')"
        )
    return value.rstrip(".").lower()


def _hostname(value: str) -> str:
    if "." in value:
        raise ValueError(
            f"hostname {value!r} must be the short name; put the rest in 'domain' "
            "(the FQDN is hostname.domain)"
        )
    return _dns_name(value)


def _mac(value: str) -> str:
    if not MAC_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)"
        )
    first = int(value[:2], 16)
    if value.lower() == "ff:ff:ff:ff:ff:ff":
        raise ValueError(f"{value} is the broadcast address, not a NIC's MAC address")
    if first & 1:
        raise ValueError(f"{value} is a multicast MAC address (the first octet is odd)")
    if value == "00:00:00:00:00:00":
        raise ValueError(f"{value} is the all-zero MAC address, not a NIC's MAC address")
    return value.lower()


def host_interface(value: Any) -> str:
    """An address with its prefix, as `a.b.c.d/24` or `a.b.c.d/255.255.255.0`."""
    if not isinstance(value, str):
        raise ValueError("expected an address with a prefix, e.g. 192.168.100.20/24")
    if ipfast.is_host_v4_iface(value):
        return value  # canonical and a host address: what the checks below would return
    if "/" not in value:
        raise ValueError(f"{value!r} has no prefix length (write e.g. {value}/24)")
    _no_scope(value)
    iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    try:
        iface = ipaddress.IPv6Interface(value) if ":" in value else ipaddress.IPv4Interface(value)
    except ValueError as exc:
        # ipaddress names the faulty part: "'255.255.155.0' is not a valid netmask".
        raise ValueError(f"{value!r}: {exc}") from None
    net = iface.network
    if net.num_addresses > 2 and iface.ip in (net.network_address, net.broadcast_address):
        what = "network" if iface.ip == net.network_address else "broadcast"
        raise ValueError(f"{iface.ip} is the {what} address of {net}, not a host address")
    for kind in ("a loopback", "a multicast", "the unspecified"):
        if getattr(iface.ip, f"is_{kind.split()[1]}"):
            raise ValueError(f"{iface.ip} is {kind} address, not a host address")
    return str(iface)


def _no_scope(value: str) -> None:
    if "%" in value:
        # ipaddress accepts any text after '%' as an IPv6 scope id.
        raise ValueError(f"{value!r}: scope ids ('%') are not supported")


def _address(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected an IP address")
    if ipfast.v4_int(value) is not None:
        return value  # canonical IPv4 text is its own str(ip_address(...))
    _no_scope(value)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid IP address") from None


def _password_hash(value: str) -> str:
    rounds = re.match(r"\$6\$rounds=([0-9]*)\$", value)
    if rounds and not re.fullmatch(ROUNDS, rounds.group(1)):
        raise ValueError(
            "rounds= must be 1000-999999999, without leading zeros: libxcrypt refuses any "
            "other, so the password would never match"
        )
    if not SHA512_CRYPT.fullmatch(value):
        raise ValueError(
            "must be a SHA-512 crypt hash ($6$salt$hash, e.g. from `openssl passwd -6`); "
            "plaintext passwords are refused"
        )
    return value


def _ssh_key(value: str) -> str:
    line = value.strip(" ")
    if not SSH_KEY.fullmatch(line):
        raise ValueError("is not an OpenSSH public key line (type, base64 key, optional comment)")
    kind, b64 = line.split(" ")[:2]
    problem = sshkeys.blob_problem(kind, b64)
    if problem:
        raise ValueError(f"is not an OpenSSH public key line: {problem}; sshd would ignore it")
    return line


def _url(value: str) -> str:
    found = URL.fullmatch(value)
    if not found:
        raise ValueError(
            f"{value!r} is not a plain http(s)/ftp/nfs URL (host, optional port, and a path "
            "of letters, digits and ._~/%+=,@- only)"
        )
    host, port = found.group(2), found.group(3)
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{value!r}: {host} is not an IPv6 address") from None
    if port and not 1 <= int(port[1:]) <= 65535:
        raise ValueError(f"{value!r}: port {port[1:]} is out of range (1-65535)")
    return value


IfName = Annotated[str, AfterValidator(_ifname)]
Hostname = Annotated[str, AfterValidator(_hostname)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
Mac = Annotated[str, AfterValidator(_mac)]
IPIface = Annotated[str, BeforeValidator(host_interface)]
IPAddr = Annotated[str, BeforeValidator(_address)]
PasswordHash = Annotated[str, AfterValidator(_password_hash)]
SshKey = Annotated[str, AfterValidator(_ssh_key)]
Url = Annotated[str, AfterValidator(_url)]
# strict: a number or boolean is what YAML wrote, never coerced ("100" or true is no VLAN id).
Mtu = Annotated[int, Field(strict=True, ge=576, le=9216, description="MTU in bytes")]
VlanId = Annotated[int, Field(strict=True, ge=1, le=4094, description="802.1Q VLAN id")]
Millis = Annotated[int, Field(strict=True, ge=0, le=60000)]
Miimon = Annotated[int, Field(strict=True, ge=0, le=10000)]
Flag = Annotated[bool, Field(strict=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class NicIn(Strict):
    """A physical NIC."""

    name: IfName
    mac: Mac | None = None
    mtu: Mtu | None = None


class BondDefaultsIn(Strict):
    """Bond settings applied to every bond that does not set them itself."""

    mode: BondMode = BondMode.ACTIVE_BACKUP
    miimon: Miimon = 100
    updelay: Millis = 0
    downdelay: Millis = 0
    lacp_rate: LacpRate | None = None
    xmit_hash_policy: XmitHashPolicy | None = None


class BondIn(Strict):
    name: IfName
    members: Annotated[list[IfName], Field(min_length=1)]
    mode: BondMode | None = None
    miimon: Miimon | None = None
    updelay: Millis | None = None
    downdelay: Millis | None = None
    primary: IfName | None = Field(
        default=None,
        description="Preferred member (active-backup); default: the first member",
    )
    lacp_rate: LacpRate | None = None
    xmit_hash_policy: XmitHashPolicy | None = None
    mtu: Mtu | None = None


class DnsIn(Strict):
    servers: list[IPAddr] = []
    search: list[DnsName] = []


class BridgeIn(Strict):
    name: IfName
    uplink: IfName | None = Field(default=None, description="Bond or NIC attached to the bridge")
    addresses: list[IPIface] = []
    gateway: IPAddr | None = Field(default=None, description="IPv4 default gateway")
    gateway6: IPAddr | None = Field(default=None, description="IPv6 default gateway")
    dns: DnsIn | None = None
    mtu: Mtu | None = None
    stp: Flag = False
    forward_delay: Annotated[int, Field(strict=True, ge=0, le=30)] = 0


class VlanIn(Strict):
    id: VlanId
    parent: IfName = Field(description="Bond/NIC to tag, or the bridge whose uplink it is")
    bridge: IfName = Field(description="Bridge carrying the VLAN (OVS: a fake bridge)")
    name: IfName | None = Field(default=None, description="VLAN device name; default PARENT.ID")
    addresses: list[IPIface] = []
    gateway: IPAddr | None = None
    mtu: Mtu | None = None


class TopologyIn(Strict):
    """NICs, bonds, bridges and VLANs. The default is the reference topology."""

    nics: list[NicIn] = Field(
        default_factory=lambda: [NicIn(name=f"eth{i}") for i in range(4)],
    )
    bonds: list[BondIn] = Field(
        default_factory=lambda: [
            BondIn(name="bond0", members=["eth0", "eth1"]),
            BondIn(name="bond1", members=["eth2", "eth3"]),
        ]
    )
    bridges: list[BridgeIn] = Field(
        default_factory=lambda: [
            BridgeIn(name="cloudbr0", uplink="bond0"),
            BridgeIn(name="cloudbr1", uplink="bond1"),
        ]
    )
    vlans: list[VlanIn] = []


class StorageIn(Strict):
    """Where a host's `storage_address` goes: a VLAN on `parent`, bridged as `bridge`."""

    vlan: VlanId = 100
    parent: IfName = "bond0"
    bridge: IfName = "cloudbr100"
    mtu: Mtu | None = None


class TrafficLabelsIn(Strict):
    management: IfName = "cloudbr0"
    guest: IfName = "cloudbr0"
    public: IfName = "cloudbr1"
    storage: IfName | None = Field(
        default=None, description="Default: the storage bridge when the host has one"
    )


class AccessIn(Strict):
    root_password_hash: PasswordHash | None = None
    ssh_authorized_keys: list[SshKey] = []


class InstallerIn(Strict):
    mirror: Url | None = Field(default=None, description="Distribution mirror for installs")
    ovs_repo: Url | None = Field(default=None, description="Extra repo with openvswitch (EL)")
    agent_repo: Url | None = Field(default=None, description="CloudStack agent package repo")
    install_agent: Flag = False
    disk: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,15}$")] | None = None
    # Values on installer command lines: none may start with '-' (it would read as an option).
    timezone: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")] = (
        "UTC"
    )
    keyboard: Annotated[
        str,
        AfterValidator(xkb.layout),
        Field(description="XKB layout", json_schema_extra={"enum": sorted(xkb.XKB_LAYOUTS)}),
    ] = "us"
    locale: Annotated[str, Field(pattern=r"^[A-Za-z_]+\.[A-Za-z0-9-]+$")] = "en_US.UTF-8"


class SettingsIn(Strict):
    """Settings a host inherits from `site` unless it sets them itself."""

    domain: DnsName | None = None
    distro: Distro | None = None
    backend: Backend | None = None
    bond: BondDefaultsIn | None = None
    dns: DnsIn | None = None
    storage: StorageIn | None = None
    ipv6: Flag | None = None
    traffic_labels: TrafficLabelsIn | None = None
    topology: TopologyIn | None = None
    blacklist_bridge_module: Flag | None = Field(
        default=None,
        description="OVS: `install bridge /bin/false` (after the agent is installed)",
    )
    access: AccessIn | None = None
    installer: InstallerIn | None = None


class SiteIn(SettingsIn):
    """Site-wide defaults."""

    pxe: PxeIn | None = Field(default=None, description="PXE installs: the boot server")


class HostIn(SettingsIn):
    hostname: Hostname
    address: IPIface | None = Field(default=None, description="Host IP on the management bridge")
    gateway: IPAddr | None = None
    address6: IPIface | None = None
    gateway6: IPAddr | None = None
    storage_address: IPIface | None = Field(default=None, description="IP on the storage bridge")
    macs: dict[IfName, Mac] = Field(default={}, description="MACs of the topology's NICs")
    reachability_target: IPAddr | None = Field(
        default=None, description="OVS first boot checks this answers; default: the gateway"
    )


class InventoryIn(Strict):
    site: SiteIn = SiteIn()
    hosts: Annotated[list[HostIn], Field(min_length=1)]
