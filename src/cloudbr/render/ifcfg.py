"""RHEL/CentOS 7 initscripts network configuration: ifcfg-* files and /etc/sysconfig/network.

initscripts *source* these files in bash, so every value is a shell word: values with spaces
are double-quoted, and anything that bash would expand is refused (the model's names are
already validated; this is the last line of defence).

linux bridge: NIC (MASTER/SLAVE or BRIDGE) -> bond (TYPE=Bond, BONDING_OPTS, BRIDGE) ->
bridge (TYPE=Bridge, addresses); a VLAN device (DEVICE=bond0.100, VLAN=yes) is a port of its
own bridge. Open vSwitch (OVS's ifup-ovs, DEVICETYPE=ovs): bonds are OVSBond ports with
BOND_IFACES and OVS_OPTIONS, their member NICs are plain links that ifup-ovs brings up;
a VLAN bridge is a fake bridge (`OVS_OPTIONS="PARENT VLAN"` -> `add-br NAME PARENT VLAN`).
"""

from __future__ import annotations

import re

from cloudbr.files import HEADER, File, FileMap, Role
from cloudbr.model import Backend, Bond, Bridge, Host, Nic, Vlan
from cloudbr.platforms import ovs_bond_options
from cloudbr.topology import bridge_mtu, nic_mtu

NAME = "ifcfg"
SCRIPTS = "/etc/sysconfig/network-scripts"
NETWORK = "/etc/sysconfig/network"

Pairs = list[tuple[str, str]]

# Characters a value may hold; the double quotes added for spaces then need no escaping.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:,/+=@%-]*( [A-Za-z0-9_.:,/+=@%-]+)*$")


def _assign(key: str, value: str) -> str:
    if not _SAFE_VALUE.fullmatch(value):
        raise ValueError(f"{key}={value!r}: not a plain shell word")
    return f'{key}="{value}"' if " " in value else f"{key}={value}"


def _file(pairs: Pairs) -> File:
    return File.text(
        HEADER + "".join(_assign(k, v) + "\n" for k, v in pairs), renderer=NAME, role=Role.NETWORK
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _common(device: str) -> Pairs:
    # NM_CONTROLLED=no: the `network` service owns these devices (NetworkManager is disabled
    # too, but a stray NM must not take them over).
    return [("DEVICE", device), ("ONBOOT", "yes"), ("NM_CONTROLLED", "no"), ("USERCTL", "no")]


def _mtu(mtu: int | None) -> Pairs:
    return [("MTU", str(mtu))] if mtu else []


def _addressing(host: Host, bridge: Bridge, *, ovs: bool) -> Pairs:
    """IP settings of a bridge: IPv4 as IPADDR/NETMASK (IPADDRn/NETMASKn for more), IPv6 as
    IPV6ADDR + IPV6ADDR_SECONDARIES, the way initscripts and cloud-init spell them."""
    pairs: Pairs = []
    if ovs:
        # ifup-ovs hands OVSBridge IP setup to ifup-eth, which wants "static" for IPADDR.
        pairs.append(("BOOTPROTO", "static" if bridge.addresses else "none"))
    else:
        pairs.append(("BOOTPROTO", "none"))
    for i, addr in enumerate(bridge.ipv4):
        n = str(i) if i else ""
        pairs += [(f"IPADDR{n}", str(addr.ip)), (f"NETMASK{n}", str(addr.netmask))]
    if bridge.gateway4:
        pairs.append(("GATEWAY", str(bridge.gateway4)))
    # Only the bridge with the default gateway may install a default route; without
    # DEFROUTE=no a global GATEWAY from /etc/sysconfig/network could apply to any bridge.
    pairs.append(("DEFROUTE", _yes(bridge.gateway4 is not None or bridge.gateway6 is not None)))
    v6 = bridge.ipv6 if host.ipv6 else ()
    if v6:
        pairs += [("IPV6INIT", "yes"), ("IPV6_AUTOCONF", "no"), ("IPV6ADDR", str(v6[0]))]
        if len(v6) > 1:
            pairs.append(("IPV6ADDR_SECONDARIES", " ".join(str(a) for a in v6[1:])))
        if bridge.gateway6:
            pairs.append(("IPV6_DEFAULTGW", str(bridge.gateway6)))
    else:
        pairs.append(("IPV6INIT", "no"))
    for i, server in enumerate(bridge.dns.servers, start=1):
        pairs.append((f"DNS{i}", str(server)))
    if bridge.dns.search:
        pairs.append(("DOMAIN", " ".join(bridge.dns.search)))
    return pairs


# --- linux bridge ---------------------------------------------------------------------------


def _lb_nic(host: Host, nic: Nic) -> Pairs:
    pairs = [*_common(nic.name), ("TYPE", "Ethernet"), ("BOOTPROTO", "none")]
    if nic.mac:
        pairs.append(("HWADDR", nic.mac))
    bond = host.bond_of(nic.name)
    bridge = host.bridge_of(nic.name)
    if bond:
        pairs += [("MASTER", bond.name), ("SLAVE", "yes")]
    elif bridge:
        pairs.append(("BRIDGE", bridge.name))
    return pairs + _mtu(nic_mtu(host, nic.name))


def _lb_bond(host: Host, bond: Bond) -> Pairs:
    opts = " ".join(f"{k}={v}" for k, v in bond.linux_options())
    pairs = [
        *_common(bond.name),
        ("TYPE", "Bond"),
        ("BONDING_MASTER", "yes"),
        ("BONDING_OPTS", opts),
        ("BOOTPROTO", "none"),
    ]
    bridge = host.bridge_of(bond.name)
    if bridge:
        pairs.append(("BRIDGE", bridge.name))
    return pairs + _mtu(bond.mtu)


def _lb_vlan(vlan: Vlan) -> Pairs:
    # No TYPE: initscripts recognise a VLAN by VLAN=yes and the DEVICE name PHYSDEV.ID.
    return [
        *_common(vlan.name),
        ("VLAN", "yes"),
        ("PHYSDEV", vlan.device.name),
        ("BOOTPROTO", "none"),
        ("BRIDGE", vlan.bridge),
        *_mtu(vlan.mtu),
    ]


def _lb_bridge(host: Host, bridge: Bridge) -> Pairs:
    return [
        *_common(bridge.name),
        ("TYPE", "Bridge"),
        *_addressing(host, bridge, ovs=False),
        ("STP", _yes(bridge.stp)),
        ("DELAY", str(bridge.forward_delay)),
        *_mtu(bridge.mtu),
    ]


def _linux_bridge(host: Host) -> dict[str, Pairs]:
    out = {n.name: _lb_nic(host, n) for n in host.nics}
    out.update({b.name: _lb_bond(host, b) for b in host.bonds})
    out.update({v.name: _lb_vlan(v) for v in host.vlans})
    out.update({b.name: _lb_bridge(host, b) for b in host.bridges})
    return out


# --- Open vSwitch ---------------------------------------------------------------------------


def _ovs_common(device: str, kind: str) -> Pairs:
    # HOTPLUG=no: udev must not ifup a port before its bridge exists; ifup-ovs orders them.
    return [*_common(device), ("DEVICETYPE", "ovs"), ("TYPE", kind), ("HOTPLUG", "no")]


def _ovs_nic(host: Host, nic: Nic) -> Pairs:
    bridge = host.bridge_of(nic.name)
    if bridge:
        # A NIC straight on a bridge is an OVSPort.
        pairs = [*_ovs_common(nic.name, "OVSPort"), ("OVS_BRIDGE", bridge.name)]
    else:
        # Bond members are plain links: ifup-ovs `ifup`s each of BOND_IFACES (via ifup-eth)
        # before `add-bond`, so they need no DEVICETYPE and no MASTER.
        pairs = [*_common(nic.name), ("TYPE", "Ethernet"), ("HOTPLUG", "no")]
    pairs.append(("BOOTPROTO", "none"))
    if nic.mac:
        pairs.append(("HWADDR", nic.mac))
    # A bond member's MTU (its own or its bond's) goes here: ifup-ovs `ifup`s each member
    # through ifup-eth, which sets it; the OVSBond file's MTU= would be read by nothing.
    mtu = nic_mtu(host, nic.name)
    if bridge and mtu:
        # ifup-ovs appends OVS_EXTRA to its add-port: OVS keeps the MTU only when asked.
        pairs.append(("OVS_EXTRA", f"set Interface {nic.name} mtu_request={mtu}"))
    return pairs + _mtu(mtu)


def _ovs_bond(host: Host, bond: Bond) -> Pairs:
    bridge = host.bridge_of(bond.name)
    if bridge is None:
        raise ValueError(f"OVS bond {bond.name!r} is no bridge's uplink")
    return [
        *_ovs_common(bond.name, "OVSBond"),
        ("OVS_BRIDGE", bridge.name),
        ("BOOTPROTO", "none"),
        ("BOND_IFACES", " ".join(bond.members)),
        ("OVS_OPTIONS", " ".join(f"{k}={v}" for k, v in ovs_bond_options(host, bond))),
        *_members_mtu_request(host, bond),
    ]


def _members_mtu_request(host: Host, bond: Bond) -> Pairs:
    # ifup-ovs appends OVS_EXTRA to its add-bond; OVS keeps a member's MTU only when asked.
    sets = [
        f"set Interface {m} mtu_request={mtu}"
        for m in bond.members
        if (mtu := nic_mtu(host, m)) is not None
    ]
    return [("OVS_EXTRA", " -- ".join(sets))] if sets else []


def _ovs_bridge(host: Host, bridge: Bridge) -> Pairs:
    pairs = _ovs_common(bridge.name, "OVSBridge")
    extra: list[str] = []
    vlan = bridge.vlan
    if vlan is not None:
        if vlan.parent_bridge is None:
            raise ValueError(f"OVS VLAN bridge {bridge.name!r} has no parent bridge")
        # A fake bridge: ifup-ovs runs `add-br NAME $OVS_OPTIONS` = `add-br NAME PARENT VLAN`.
        # OVSREQUIRES brings the parent up first whatever the boot order of the files.
        pairs += [
            ("OVS_OPTIONS", f"{vlan.parent_bridge} {vlan.id}"),
            ("OVSREQUIRES", vlan.parent_bridge),
        ]
    else:
        # ifup-ovs passes STP to `set bridge NAME stp_enable=$STP` (an OVS boolean).
        pairs.append(("STP", "true" if bridge.stp else "false"))
    mtu = bridge_mtu(host, bridge)
    if mtu:
        # OVS resets an internal port's MTU unless mtu_request asks for one.
        extra.append(f"set Interface {bridge.name} mtu_request={mtu}")
    if extra:
        pairs.append(("OVS_EXTRA", " -- ".join(extra)))
    return pairs + _addressing(host, bridge, ovs=True) + _mtu(mtu)


def _ovs(host: Host) -> dict[str, Pairs]:
    out = {n.name: _ovs_nic(host, n) for n in host.nics}
    out.update({b.name: _ovs_bond(host, b) for b in host.bonds})
    out.update({b.name: _ovs_bridge(host, b) for b in host.bridges})
    return out


# --- /etc/sysconfig/network -------------------------------------------------------------------


def network(host: Host) -> File:
    pairs: Pairs = [("NETWORKING", "yes"), ("HOSTNAME", host.fqdn)]
    if host.gateway4:
        pairs.append(("GATEWAY", str(host.gateway4)))
    pairs += [
        ("NETWORKING_IPV6", _yes(host.ipv6)),
        # Addresses are static: no router advertisements decide them.
        ("IPV6_AUTOCONF", "no"),
    ]
    if not host.ipv6:
        pairs.append(("IPV6INIT", "no"))
    return _file(pairs)


def ifcfg_files(host: Host) -> dict[str, Pairs]:
    """Device name -> ordered KEY, VALUE pairs (the contents of ifcfg-<device>)."""
    return _ovs(host) if host.backend is Backend.OVS else _linux_bridge(host)


def render(host: Host) -> FileMap:
    files: FileMap = {NETWORK: network(host)}
    for device, pairs in ifcfg_files(host).items():
        files[f"{SCRIPTS}/ifcfg-{device}"] = _file(pairs)
    return files
