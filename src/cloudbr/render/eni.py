"""/etc/network/interfaces (ifupdown) for Debian 12 (both backends) and Ubuntu 18.04 with OVS.

The file alone builds the whole topology at boot (`networking.service` runs `ifup -a`):
- linux bridge: ifenslave's `bond-slaves` on the bond creates it and enslaves the NICs,
  ifupdown's own VLAN support creates `bond0.100`, bridge-utils' `bridge_ports` builds the
  bridges. `ifup -a` follows the file's order, so every device comes before what uses it.
- Open vSwitch: Debian's openvswitch-switch hook. Bridges are `auto` + `allow-ovs`; the hook
  runs `ifup --allow=<bridge>` on each name in `ovs_ports`, so bonds and fake bridges are
  `allow-<bridge>` and come up right after their bridge. A fake bridge (`ovs-vsctl br-exists`
  holds for it) is an OVSBridge whose `ovs_options` are "<parent> <vlan>": the hook runs
  `add-br <fake> <parent> <vlan>`.
The file deliberately does not `source` /etc/network/interfaces.d: an installer's or cloud
image's leftovers there would configure the same NICs a second time.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from cloudbr.files import HEADER, File, FileMap, Role
from cloudbr.model import Backend, Bond, Bridge, Dns, Host, IPInterface, Nic
from cloudbr.platforms import ovs_bond_options, platform
from cloudbr.topology import bridge_mtu, nic_mtu

NAME = "eni"
INTERFACES = "/etc/network/interfaces"
# Where ifupdown's dns-* options reach nothing (no resolvconf): systemd-resolved's own
# configuration (resolved.conf(5): /etc/systemd/resolved.conf.d/*.conf, read by systemd 237).
RESOLVED_DROPIN = "/etc/systemd/resolved.conf.d/90-cloudbr.conf"


@dataclass
class Stanza:
    iface: str
    method: str  # static, manual, loopback
    family: str = "inet"
    classes: tuple[str, ...] = ()  # "auto", "allow-ovs", "allow-cloudbr0", ...
    options: list[tuple[str, str]] = field(default_factory=list)
    comment: str | None = None

    def add(self, key: str, value: object) -> None:
        self.options.append((key, str(value)))

    def text(self) -> str:
        lines = [f"# {self.comment}"] if self.comment else []
        lines += [f"{cls} {self.iface}" for cls in self.classes]
        lines.append(f"iface {self.iface} {self.family} {self.method}")
        lines += [f"    {key} {value}" for key, value in self.options]
        return "\n".join(lines)


def _loopback() -> Stanza:
    return Stanza("lo", "loopback", classes=("auto",))


def _address(stanza: Stanza, addr: IPInterface) -> None:
    stanza.add("address", addr.ip)
    if isinstance(addr, ipaddress.IPv4Interface):
        stanza.add("netmask", addr.netmask)
    else:
        stanza.add("netmask", addr.network.prefixlen)


def _dns(stanza: Stanza, dns: Dns) -> None:
    # Consumed by resolvconf's ifupdown hook only (Debian 12: installed with the host). Where
    # the platform has no resolvconf (Ubuntu 18.04), debian_extras writes a resolved drop-in.
    if dns.servers:
        stanza.add("dns-nameservers", " ".join(str(s) for s in dns.servers))
    if dns.search:
        stanza.add("dns-search", " ".join(dns.search))


def _address_stanzas(
    bridge: Bridge, classes: tuple[str, ...], comment: str | None, dns: bool = True
) -> list[Stanza]:
    """The bridge's main `inet` stanza (options go here) plus one stanza per further address.

    ifupdown applies every stanza of an interface in turn; the extra ones carry no hook
    options, so the bridge/OVS hooks do nothing for them.
    """
    v4, v6 = list(bridge.ipv4), list(bridge.ipv6)
    main = Stanza(bridge.name, "static" if v4 else "manual", classes=classes, comment=comment)
    if v4:
        _address(main, v4[0])
        if bridge.gateway4:
            main.add("gateway", bridge.gateway4)
    if dns:
        _dns(main, bridge.dns)
    extra = []
    for addr4 in v4[1:]:
        s = Stanza(bridge.name, "static")
        _address(s, addr4)
        extra.append(s)
    for i, addr6 in enumerate(v6):
        s = Stanza(bridge.name, "static", family="inet6")
        _address(s, addr6)
        if i == 0 and bridge.gateway6:
            s.add("gateway", bridge.gateway6)
        extra.append(s)
    return [main, *extra]


# --- linux bridge ------------------------------------------------------------------------


def _linux_bond(bond: Bond) -> Stanza:
    s = Stanza(bond.name, "manual", classes=("auto",), comment=f"bond {bond.name}")
    s.add("bond-slaves", " ".join(bond.members))
    for key, value in bond.linux_options():
        s.add("bond-" + key.replace("_", "-"), value)
    if bond.mtu:
        s.add("mtu", bond.mtu)
    return s


def _linux_nic(nic: Nic, host: Host) -> Stanza:
    # Bond members are enslaved by the bond's bond-slaves: no `auto`, or ifup would race it.
    used_alone = host.bond_of(nic.name) is None and (
        host.bridge_of(nic.name) is not None or host.vlans_on(nic.name)
    )
    s = Stanza(nic.name, "manual", classes=("auto",) if used_alone else ())
    mtu = nic_mtu(host, nic.name)
    if mtu:
        s.add("mtu", mtu)
    return s


def _linux_bridge(bridge: Bridge) -> list[Stanza]:
    stanzas = _address_stanzas(bridge, ("auto",), f"bridge {bridge.name}")
    main = stanzas[0]
    main.add("bridge_ports", bridge.uplink_name or "none")
    main.add("bridge_stp", "on" if bridge.stp else "off")
    main.add("bridge_fd", bridge.forward_delay)
    if bridge.mtu:
        main.add("mtu", bridge.mtu)
    return stanzas


def linux_stanzas(host: Host) -> list[Stanza]:
    stanzas = [_loopback()]
    stanzas += [_linux_nic(n, host) for n in host.nics]
    stanzas += [_linux_bond(b) for b in host.bonds]
    for vlan in host.vlans:
        s = Stanza(vlan.name, "manual", classes=("auto",), comment=f"VLAN {vlan.id}")
        s.add("vlan-raw-device", vlan.device.name)
        if vlan.mtu:
            s.add("mtu", vlan.mtu)
        stanzas.append(s)
    for bridge in host.bridges:
        stanzas += _linux_bridge(bridge)
    return stanzas


# --- Open vSwitch ------------------------------------------------------------------------


def _mtu_extra(names_mtus: list[tuple[str, int | None]]) -> str | None:
    sets = [f"set interface {name} mtu_request={mtu}" for name, mtu in names_mtus if mtu]
    return " -- ".join(sets) or None


def _ovs_bond(bond: Bond, bridge: str, host: Host) -> Stanza:
    s = Stanza(bond.name, "manual", classes=(f"allow-{bridge}",), comment=f"bond {bond.name}")
    s.add("ovs_bridge", bridge)
    s.add("ovs_type", "OVSBond")
    s.add("ovs_bonds", " ".join(bond.members))
    s.add("ovs_options", " ".join(f"{k}={v}" for k, v in ovs_bond_options(host, bond)))
    extra = _mtu_extra([(m, nic_mtu(host, m)) for m in bond.members])
    if extra:
        s.add("ovs_extra", extra)
    return s


def _ovs_port(nic: Nic, bridge: str, host: Host) -> Stanza:
    s = Stanza(nic.name, "manual", classes=(f"allow-{bridge}",))
    s.add("ovs_bridge", bridge)
    s.add("ovs_type", "OVSPort")
    mtu = nic_mtu(host, nic.name)
    if mtu:
        s.add("ovs_extra", f"set interface {nic.name} mtu_request={mtu}")
    return s


def _ovs_bridge(bridge: Bridge, host: Host) -> list[Stanza]:
    vlan = bridge.vlan
    if vlan is not None:
        assert vlan.parent_bridge, "the resolver gives every OVS VLAN a parent bridge"
        classes: tuple[str, ...] = (f"allow-{vlan.parent_bridge}",)
        comment = f"fake bridge {bridge.name}: VLAN {vlan.id} of {vlan.parent_bridge}"
    else:
        classes = ("auto", "allow-ovs")
        comment = f"bridge {bridge.name}"
    dns = platform(host).eni_dns_reaches_resolver
    stanzas = _address_stanzas(bridge, classes, comment, dns)
    main = stanzas[0]
    main.add("ovs_type", "OVSBridge")
    if vlan is not None:
        main.add("ovs_options", f"{vlan.parent_bridge} {vlan.id}")
    ports = [bridge.uplink.name] if bridge.uplink and vlan is None else []
    ports += [v.bridge for v in host.vlans if v.parent_bridge == bridge.name]
    if ports:
        main.add("ovs_ports", " ".join(ports))
    mtu = bridge_mtu(host, bridge)
    if mtu:
        main.add("ovs_extra", f"set interface {bridge.name} mtu_request={mtu}")
    out = stanzas
    uplink = bridge.uplink if vlan is None else None
    if uplink and uplink.is_bond:
        out.append(_ovs_bond(host.bond(uplink.name), bridge.name, host))
    elif uplink:
        out.append(_ovs_port(host.nic(uplink.name), bridge.name, host))
    return out


def ovs_stanzas(host: Host) -> list[Stanza]:
    stanzas = [_loopback()]
    # OVS's hook brings bond members up itself, except openvswitch 2.9.0-2.9.2's (Ubuntu
    # 18.04's release pocket), which ups the bond's own name: there ifupdown's manual method
    # must bring each member's link up, so members are `auto`.
    auto_members = not platform(host).ovs_hook_ups_members
    stanzas += [
        Stanza(n.name, "manual", classes=("auto",) if auto_members and host.bond_of(n.name) else ())
        for n in host.nics
    ]
    for bridge in host.plain_bridges:
        stanzas += _ovs_bridge(bridge, host)
    # Fake bridges after all real ones: their parents must be defined (and up) first.
    for bridge in host.bridges:
        if bridge.vlan is not None:
            stanzas += _ovs_bridge(bridge, host)
    return stanzas


def document(host: Host) -> str:
    stanzas = ovs_stanzas(host) if host.backend is Backend.OVS else linux_stanzas(host)
    return HEADER + "\n" + "\n\n".join(s.text() for s in stanzas) + "\n"


def resolved_dropin(host: Host) -> File | None:
    """The bridges' DNS servers and search domains, in order, as systemd-resolved's global
    settings; None where ifupdown's dns-* options reach the resolver (resolvconf)."""
    if platform(host).eni_dns_reaches_resolver:
        return None
    servers = list(dict.fromkeys(str(s) for b in host.bridges for s in b.dns.servers))
    search = list(dict.fromkeys(d for b in host.bridges for d in b.dns.search))
    if not servers and not search:
        return None
    lines = ["[Resolve]"]
    if servers:
        lines.append("DNS=" + " ".join(servers))
    if search:
        lines.append("Domains=" + " ".join(search))
    return File.text(HEADER + "\n".join(lines), renderer=NAME, role=Role.NETWORK)


def render(host: Host) -> FileMap:
    files = {INTERFACES: File.text(document(host), renderer=NAME, role=Role.NETWORK)}
    dropin = resolved_dropin(host)
    if dropin is not None:
        files[RESOLVED_DROPIN] = dropin
    return files
