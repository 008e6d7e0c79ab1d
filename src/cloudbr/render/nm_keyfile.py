"""NetworkManager keyfiles (EL8/EL9): one `*.nmconnection` per device, plus a `conf.d` drop-in.

linux bridge: NIC (ethernet, `master=bond0`/`slave-type=bond`, or a bridge port) -> bond
(`[bond]` options, a port of its bridge) -> bridge (`[bridge]` stp/forward-delay, addresses);
a VLAN (`[vlan]` id/parent) is a port of its own bridge. Ports are written with the names
NetworkManager has always read, `master=`/`slave-type=`: 1.42 (EL 9.2) ignores
`controller=`/`port-type=` (the port then comes up on its own, with DHCP), and later releases
still read the old names. Every profile autoconnects and nothing else activates it: a port
brings its controller up with it (and NetworkManager re-attaches a port that fell out).
`autoconnect-slaves=1` on the controllers too made two activation requests for one bond on a
booted NetworkManager 1.42 under load: the second tore down the first, the bond was
recreated and its `primary` refused (e2e).

Open vSwitch: NetworkManager's OVS plugin never sets a Port's `fake_bridge` flag, so a VLAN
bridge it made fails `ovs-vsctl br-exists` (and CloudStack's label check). cloudbr's
first-boot program builds the OVS topology and the host's addresses instead; NetworkManager
stays enabled but is told to leave every OVS device (and the NICs that become OVS ports)
alone, and serves the host's DNS servers as its global DNS configuration.

Every host: `no-auto-default=*`, so a NIC the inventory does not describe never gets
NetworkManager's automatic DHCP profile. Keyfiles are root 0600: NetworkManager ignores a
keyfile that others can read. Values are GKeyFile strings: anything outside a plain set of
characters is refused here (the model's names are validated already; last line of defence).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address

from cloudbr.files import HEADER, SECRET, File, FileMap, Role
from cloudbr.model import Backend, Bond, Bridge, Host, IPAddress, IPInterface, Nic, Vlan
from cloudbr.topology import nic_mtu

NAME = "nm-keyfile"
CONNECTIONS = "/etc/NetworkManager/system-connections"
CONF = "/etc/NetworkManager/conf.d/90-cloudbr.conf"
WAIT_ONLINE = "/etc/systemd/system/NetworkManager-wait-online.service.d/cloudbr.conf"
# network-online.target (which the CloudStack agent and libvirt start after) waits for the
# host's bridges as long as ifupdown's networking.service would (5 min), not NetworkManager's
# 60 s: bonds, bridges and a VLAN on a loaded host took longer (e2e, first boot under TCG).
WAIT_ONLINE_S = 300
PREFIX = "cloudbr-"  # file names: never the same as an installer's own <device>.nmconnection
# Deterministic profile UUIDs (byte-identical renders): uuid5 of the host's FQDN and device.
UUID_NAMESPACE = uuid.UUID("5b6f0d39-0c8e-4d33-9a51-0f4a3c6f3c2e")

Section = list[tuple[str, str]]
Keyfile = dict[str, Section]  # section name -> ordered (key, value) pairs

_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:,/+=@*;-]*")


def _check(key: str, value: str) -> str:
    if not _SAFE_VALUE.fullmatch(value):
        raise ValueError(f"{key}={value!r}: not a plain keyfile value")
    return f"{key}={value}"


def _text(doc: Keyfile) -> str:
    parts = [HEADER.rstrip("\n")]
    for section, pairs in doc.items():
        parts += ["", f"[{section}]", *(_check(k, v) for k, v in pairs)]
    return "\n".join(parts) + "\n"


def profile_uuid(host: Host, device: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, f"{host.fqdn}/{device}"))


def _connection(host: Host, device: str, kind: str, controller: tuple[str, str] | None) -> Section:
    pairs = [
        ("id", device),
        ("uuid", profile_uuid(host, device)),
        ("type", kind),
        ("interface-name", device),
        ("autoconnect", "true"),
    ]
    if controller:
        pairs += [("master", controller[0]), ("slave-type", controller[1])]
    return pairs


def _ethernet(mac: str | None, mtu: int | None) -> Keyfile:
    pairs = ([("mac-address", mac.upper())] if mac else []) + ([("mtu", str(mtu))] if mtu else [])
    return {"ethernet": pairs} if pairs else {}


def _list(values: Iterable[object]) -> str:
    return "".join(f"{v};" for v in values)


def _static(
    addresses: Sequence[IPInterface], gateway: IPAddress | None, servers: Sequence[IPAddress]
) -> Section:
    """An [ipv4]/[ipv6] section with static addresses (one family's)."""
    pairs = [(f"address{i}", str(a)) for i, a in enumerate(addresses, start=1)]
    if gateway:
        pairs.append(("gateway", str(gateway)))
    if servers:
        pairs.append(("dns", _list(servers)))
    return pairs


def _ipv4(bridge: Bridge) -> Section:
    if not bridge.ipv4:
        return [("method", "disabled")]
    servers = [s for s in bridge.dns.servers if isinstance(s, IPv4Address)]
    pairs = _static(bridge.ipv4, bridge.gateway4, servers)
    if bridge.dns.search:
        pairs.append(("dns-search", _list(bridge.dns.search)))
    return [*pairs, ("method", "manual")]


def _ipv6(host: Host, bridge: Bridge) -> Section:
    if not host.ipv6:
        return [("method", "disabled")]
    if not bridge.ipv6:
        # Static addressing only: no router advertisement decides an address.
        return [("method", "link-local")]
    servers = [s for s in bridge.dns.servers if isinstance(s, IPv6Address)]
    return [*_static(bridge.ipv6, bridge.gateway6, servers), ("method", "manual")]


def _port_of(host: Host, device: str) -> tuple[str, str] | None:
    """(controller, kind) of a device: its bond, else the bridge it is the uplink of."""
    bond = host.bond_of(device)
    if bond:
        return (bond.name, "bond")
    bridge = host.bridge_of(device)
    return (bridge.name, "bridge") if bridge else None


def _no_ip() -> Keyfile:
    return {"ipv4": [("method", "disabled")], "ipv6": [("method", "disabled")]}


def nic(host: Host, n: Nic) -> Keyfile:
    controller = _port_of(host, n.name)
    doc: Keyfile = {"connection": _connection(host, n.name, "ethernet", controller)}
    doc.update(_ethernet(n.mac, nic_mtu(host, n.name)))
    # A NIC that is nobody's port carries nothing: no IP, and no DHCP either.
    return doc if controller else {**doc, **_no_ip()}


def bond(host: Host, b: Bond) -> Keyfile:
    controller = _port_of(host, b.name)
    conn = _connection(host, b.name, "bond", controller)
    doc: Keyfile = {"connection": conn, **_ethernet(None, b.mtu)}
    doc["bond"] = list(b.linux_options())
    return doc if controller else {**doc, **_no_ip()}


def vlan(host: Host, v: Vlan) -> Keyfile:
    doc: Keyfile = {"connection": _connection(host, v.name, "vlan", (v.bridge, "bridge"))}
    doc.update(_ethernet(None, v.mtu))
    doc["vlan"] = [("id", str(v.id)), ("parent", v.device.name)]
    return doc


def bridge(host: Host, b: Bridge) -> Keyfile:
    conn = _connection(host, b.name, "bridge", None)
    doc: Keyfile = {"connection": conn, **_ethernet(None, b.mtu)}
    doc["bridge"] = [("forward-delay", str(b.forward_delay)), ("stp", _bool(b.stp))]
    doc["ipv4"] = _ipv4(b)
    doc["ipv6"] = _ipv6(host, b)
    return doc


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


def keyfiles(host: Host) -> dict[str, Keyfile]:
    """Device name -> its keyfile's sections (linux bridge hosts; OVS hosts have none)."""
    if host.backend is Backend.OVS:
        return {}
    out = {n.name: nic(host, n) for n in host.nics}
    out.update({b.name: bond(host, b) for b in host.bonds})
    out.update({v.name: vlan(host, v) for v in host.vlans})
    out.update({b.name: bridge(host, b) for b in host.bridges})
    return out


def unmanaged_devices(host: Host) -> tuple[str, ...]:
    """Every device the OVS topology owns: bridges (fake bridges included), bonds, the NICs
    that become ports, and the datapath's own `ovs-system`."""
    names = [b.name for b in host.bridges] + [b.name for b in host.bonds]
    names += [n.name for n in host.nics] + ["ovs-system"]
    return tuple(dict.fromkeys(names))


def conf(host: Host) -> str:
    doc: Keyfile = {"main": [("no-auto-default", "*")]}
    if host.backend is Backend.OVS:
        doc["keyfile"] = [
            ("unmanaged-devices", ";".join(f"interface-name:{d}" for d in unmanaged_devices(host)))
        ]
        # No NetworkManager profile carries the DNS servers on an OVS host: the global DNS
        # configuration does, and NetworkManager writes resolv.conf from it.
        if host.dns.search:
            doc["global-dns"] = [("searches", ",".join(host.dns.search))]
        if host.dns.servers:
            servers = ",".join(str(s) for s in host.dns.servers)
            doc["global-dns-domain-*"] = [("servers", servers)]
    return _text(doc)


def activation(host: Host) -> list[list[str]]:
    """Commands that make a running NetworkManager take these files up (a seed's runcmd: its
    write_files lands after NetworkManager started, which may have given a NIC its automatic
    DHCP profile meanwhile). The configuration first (no-auto-default; OVS: the unmanaged
    devices, before the first-boot unit builds the bridges), then the profiles; `up` of each
    NIC port and VLAN takes the NIC over and brings its bond and bridge up with it."""
    cmds = [["nmcli", "general", "reload", "conf"]]
    if host.backend is Backend.OVS:
        return cmds
    cmds.append(["nmcli", "connection", "reload"])
    ports = [n.name for n in host.nics if _port_of(host, n.name)] + [v.name for v in host.vlans]
    cmds += [["nmcli", "connection", "up", "uuid", profile_uuid(host, d)] for d in ports]
    return cmds


def path(device: str) -> str:
    return f"{CONNECTIONS}/{PREFIX}{device}.nmconnection"


def wait_online() -> str:
    return (
        HEADER
        + "# The host's bridges may take longer than NetworkManager's default 60 s to come up.\n"
        + f"[Service]\nEnvironment=NM_ONLINE_TIMEOUT={WAIT_ONLINE_S}\n"
    )


def render(host: Host) -> FileMap:
    files: FileMap = {
        WAIT_ONLINE: File.text(wait_online(), renderer=NAME, role=Role.NETWORK),
        CONF: File.text(conf(host), renderer=NAME, role=Role.NETWORK),
    }
    for device, doc in keyfiles(host).items():
        files[path(device)] = File.text(_text(doc), mode=SECRET, renderer=NAME, role=Role.NETWORK)
    return files
