"""Apply site defaults to each host, check rules that span fields and hosts, build the model.

Every rule reports through `Checker.error(path, message)`, with the path of the YAML value at
fault, so that all problems of an inventory come out together with their line and column.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from cloudbr.inventory import rules
from cloudbr.inventory.schema import (
    CLOUDSTACK_PORT,
    AccessIn,
    BondDefaultsIn,
    BondIn,
    BridgeIn,
    DnsIn,
    HostIn,
    InstallerIn,
    InventoryIn,
    SiteIn,
    StorageIn,
    TopologyIn,
    TrafficLabelsIn,
    VlanIn,
)
from cloudbr.inventory.source import Path, Problem, format_path
from cloudbr.model import (
    IFNAMSIZ,
    LINUX_BOND_MODES,
    OVS_BOND_MODES,
    SUPPORTED_DISTROS,
    Access,
    Backend,
    Bond,
    BondMode,
    Bridge,
    Distro,
    Dns,
    Host,
    Installer,
    IPAddress,
    IPInterface,
    Nic,
    OvsLacp,
    TrafficLabels,
    Vlan,
)

T = TypeVar("T")

# Bonding modes where the kernel honours `primary`.
PRIMARY_MODES = frozenset({BondMode.ACTIVE_BACKUP, BondMode.BALANCE_TLB, BondMode.BALANCE_ALB})
HASH_MODES = frozenset({BondMode.BALANCE_XOR, BondMode.LACP, BondMode.BALANCE_TLB})


@dataclass
class Checker:
    problems: list[Problem] = field(default_factory=list)

    def error(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.problems.append(Problem(path, message, at_key))


def _pick(host: T | None, site: T | None, default: T) -> T:
    if host is not None:
        return host
    if site is not None:
        return site
    return default


@dataclass(frozen=True)
class _Ctx:
    """Where a host's settings came from, so errors point at the right YAML lines."""

    index: int
    host_in: HostIn
    site: SiteIn

    @property
    def host_path(self) -> Path:
        return ("hosts", self.index)

    def setting_path(self, name: str) -> Path:
        if getattr(self.host_in, name) is not None:
            return (*self.host_path, name)
        if getattr(self.site, name) is not None:
            return ("site", name)
        return self.host_path

    @property
    def prefix(self) -> str:
        """Name the host in messages about settings it inherited from the site."""
        return "" if self.host_in.topology is not None else f"host {self.host_in.hostname}: "


def _ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def _iface(text: str) -> IPInterface:
    return ipaddress.ip_interface(text)


class HostResolver:
    def __init__(self, ctx: _Ctx, check: Checker) -> None:
        self.ctx = ctx
        self.check = check
        h, s = ctx.host_in, ctx.site
        self.backend = _pick(h.backend, s.backend, Backend.LINUXBRIDGE)
        self.distro = _pick(h.distro, s.distro, Distro.CENTOS7)
        self.ipv6 = _pick(h.ipv6, s.ipv6, False)
        self.topology = _pick(h.topology, s.topology, TopologyIn())
        self.topo_path = ctx.setting_path("topology")
        self.bond_defaults = _pick(h.bond, s.bond, BondDefaultsIn())
        self.storage = _pick(h.storage, s.storage, StorageIn())
        self.dns_in = _pick(h.dns, s.dns, DnsIn())
        self.failed_bridges: set[str] = set()

    def err(self, path: Path, message: str, *, at_key: bool = False) -> None:
        inherited = path[:1] == ("site",) or path == self.ctx.host_path
        self.check.error(path, (self.ctx.prefix if inherited else "") + message, at_key=at_key)

    # --- top level -------------------------------------------------------------------

    def resolve(self) -> Host:
        h = self.ctx.host_in
        if self.distro not in SUPPORTED_DISTROS:
            supported = ", ".join(sorted(d.value for d in SUPPORTED_DISTROS))
            self.err(
                self.ctx.setting_path("distro"),
                f"distro {self.distro.value!r} is not supported yet (supported: {supported})",
            )
        nics = self.nics()
        names = self.name_table(nics)
        bonds = self.bonds(nics)
        vlans_in = list(self.topology.vlans)
        vlan_paths: list[Path] = [(*self.topo_path, "vlans", i) for i in range(len(vlans_in))]
        bridges_in = list(self.topology.bridges)
        bridge_paths: list[Path] = [(*self.topo_path, "bridges", i) for i in range(len(bridges_in))]
        extra_addr: dict[str, list[tuple[IPInterface, Path]]] = defaultdict(list)
        labels = _pick(h.traffic_labels, self.ctx.site.traffic_labels, TrafficLabelsIn())
        if h.address:
            extra_addr[labels.management].append(
                (_iface(h.address), (*self.ctx.host_path, "address"))
            )
        if h.address6:
            extra_addr[labels.management].append(
                (_iface(h.address6), (*self.ctx.host_path, "address6"))
            )
        storage_bridge: str | None = None
        if h.storage_address:
            storage_bridge = self.storage.bridge
            path = (*self.ctx.host_path, "storage_address")
            extra_addr[storage_bridge].append((_iface(h.storage_address), path))
            known = {b.name for b in bridges_in} | {v.bridge for v in vlans_in}
            if storage_bridge not in known:
                vlans_in.append(
                    VlanIn(
                        id=self.storage.vlan,
                        parent=self.storage.parent,
                        bridge=storage_bridge,
                        mtu=self.storage.mtu,
                    )
                )
                vlan_paths.append(self.ctx.setting_path("storage"))
        for name in extra_addr:
            if name in names and names[name][0] != "bridge":
                self.err(
                    (*self.ctx.host_path, "address"),
                    f"{name!r} is a {names[name][0]}, not a bridge",
                )
        bridges = self.bridges(bridges_in, bridge_paths, names, bonds)
        vlans, vlan_bridges = self.vlans(vlans_in, vlan_paths, names, bridges)
        all_bridges = self.attach_addresses([*bridges, *vlan_bridges], extra_addr)
        dns = self.dns()
        all_bridges = self.attach_gateway_and_dns(all_bridges, dns)
        self.check_mtus(nics, bonds, all_bridges, vlans)
        traffic = self.traffic_labels(labels, all_bridges, storage_bridge)
        self.check_addresses(all_bridges)
        target = _ip(h.reachability_target) if h.reachability_target else None
        host = Host(
            hostname=h.hostname,
            domain=_pick(h.domain, self.ctx.site.domain, None),
            distro=self.distro,
            backend=self.backend,
            nics=tuple(nics),
            bonds=tuple(bonds),
            bridges=tuple(all_bridges),
            vlans=tuple(vlans),
            dns=dns,
            ipv6=self.ipv6,
            traffic_labels=traffic,
            blacklist_bridge_module=_pick(
                h.blacklist_bridge_module, self.ctx.site.blacklist_bridge_module, True
            ),
            access=self.access(),
            installer=self.installer(),
            reachability_target=target,
        )
        self.host_rules(host)
        mgmt = next((b for b in all_bridges if b.name == traffic.management), None)
        if mgmt is not None and not mgmt.addresses:
            self.err(
                (*self.ctx.host_path, "hostname"),
                f"host has no address on its management bridge {traffic.management!r}: "
                "set 'address' (e.g. 192.168.100.20/24)",
            )
        return host

    def host_rules(self, host: Host) -> None:
        """Rules over the whole host: what a renderer or carrier could not write."""
        rules.check_fqdn(host, (*self.ctx.host_path, "hostname"), self.err)
        rules.check_unreachable_gateways(host, self._bridge_paths, self.err)
        bond_paths = [(*self.topo_path, "bonds", i) for i in range(len(host.bonds))]
        rules.check_ovs_bonds(host, bond_paths, self.err)
        rules.check_mirror(host, self.ctx.setting_path("installer"), self.err)

    # --- NICs, bonds -------------------------------------------------------------------

    def nics(self) -> list[Nic]:
        macs = dict(self.ctx.host_in.macs)
        known = {n.name for n in self.topology.nics}
        for name in macs:
            if name not in known:
                self.err(
                    (*self.ctx.host_path, "macs", name),
                    f"no NIC named {name!r} in the topology (NICs: {', '.join(sorted(known))})",
                    at_key=True,
                )
        out = []
        for n in self.topology.nics:
            out.append(Nic(name=n.name, mac=macs.get(n.name, n.mac), mtu=n.mtu))
        return out

    def name_table(self, nics: list[Nic]) -> dict[str, tuple[str, Path]]:
        """Every interface name the topology defines, with its kind; reports clashes."""
        table: dict[str, tuple[str, Path]] = {}
        entries: list[tuple[str, str, Path]] = []
        t = self.topology
        entries += [
            (n.name, "NIC", (*self.topo_path, "nics", i, "name")) for i, n in enumerate(t.nics)
        ]
        entries += [
            (b.name, "bond", (*self.topo_path, "bonds", i, "name")) for i, b in enumerate(t.bonds)
        ]
        entries += [
            (b.name, "bridge", (*self.topo_path, "bridges", i, "name"))
            for i, b in enumerate(t.bridges)
        ]
        entries += [
            (v.bridge, "bridge", (*self.topo_path, "vlans", i, "bridge"))
            for i, v in enumerate(t.vlans)
        ]
        for name, kind, path in entries:
            if name in table:
                other_kind, _ = table[name]
                self.err(path, f"interface name {name!r} is already used by a {other_kind}")
                continue
            table[name] = (kind, path)
        return table

    def bond_field_path(self, path: Path, b: BondIn, key: str) -> Path:
        """The bond's own key when it sets it, else the `bond` defaults it inherited."""
        if getattr(b, key) is not None:
            return (*path, key)
        return (*self.ctx.setting_path("bond"), key)

    def bonds(self, nics: list[Nic]) -> list[Bond]:
        nic_names = {n.name for n in nics}
        owner: dict[str, str] = {}
        out = []
        d = self.bond_defaults
        for i, b in enumerate(self.topology.bonds):
            path = (*self.topo_path, "bonds", i)
            mode = b.mode or d.mode
            miimon = _pick(b.miimon, d.miimon, 100)
            updelay = _pick(b.updelay, d.updelay, 0)
            downdelay = _pick(b.downdelay, d.downdelay, 0)
            lacp_rate = b.lacp_rate or d.lacp_rate
            xmit = b.xmit_hash_policy or d.xmit_hash_policy
            mode_path = self.bond_field_path(path, b, "mode")
            for j, m in enumerate(b.members):
                mpath = (*path, "members", j)
                if m not in nic_names:
                    self.err(mpath, f"bond member {m!r} is not a NIC defined in 'nics'")
                elif m in owner:
                    self.err(mpath, f"NIC {m!r} is already a member of bond {owner[m]!r}")
                else:
                    owner[m] = b.name
            if len(set(b.members)) != len(b.members):
                self.err((*path, "members"), "a NIC is listed twice in the same bond")
            if self.backend is Backend.OVS:
                if len(b.members) < 2:
                    self.err(
                        (*path, "members"),
                        f"an Open vSwitch bond needs at least two members, {b.name!r} has "
                        f"{len(b.members)} (use the NIC as the bridge uplink instead)",
                    )
                if mode not in OVS_BOND_MODES:
                    self.err(
                        mode_path,
                        f"bond mode {mode.value!r} is not available on Open vSwitch "
                        "(use active-backup, balance-slb, or balance-tcp for LACP)",
                    )
                if lacp_rate and mode is not BondMode.BALANCE_TCP:
                    self.err(
                        self.bond_field_path(path, b, "lacp_rate"),
                        "lacp_rate needs mode balance-tcp (LACP) on Open vSwitch",
                    )
                if xmit:
                    self.err(
                        self.bond_field_path(path, b, "xmit_hash_policy"),
                        "xmit_hash_policy is a linux bonding option; Open vSwitch hashes by mode",
                    )
            else:
                if mode not in LINUX_BOND_MODES:
                    self.err(
                        mode_path,
                        f"bond mode {mode.value!r} exists only on Open vSwitch "
                        "(linux bonding modes: "
                        + ", ".join(m.value for m in BondMode if m in LINUX_BOND_MODES)
                        + ")",
                    )
                if lacp_rate and mode is not BondMode.LACP:
                    self.err(
                        self.bond_field_path(path, b, "lacp_rate"),
                        f"lacp_rate needs mode 802.3ad, not {mode.value}",
                    )
                if xmit and mode not in HASH_MODES:
                    self.err(
                        self.bond_field_path(path, b, "xmit_hash_policy"),
                        f"xmit_hash_policy applies to balance-xor, 802.3ad and balance-tlb, "
                        f"not {mode.value}",
                    )
            if miimon == 0:
                self.err(
                    self.bond_field_path(path, b, "miimon"),
                    "miimon 0 turns link monitoring off: the bond would never fail over",
                )
            for key, delay in (("updelay", updelay), ("downdelay", downdelay)):
                if miimon and delay % miimon:
                    self.err(
                        self.bond_field_path(path, b, key),
                        f"{key} {delay} must be a multiple of miimon {miimon} "
                        "(the kernel would silently round it down)",
                    )
            primary = b.primary
            if primary is not None:
                if primary not in b.members:
                    self.err(
                        (*path, "primary"), f"primary {primary!r} is not a member of {b.name!r}"
                    )
                if mode not in PRIMARY_MODES:
                    self.err(
                        (*path, "primary"),
                        "primary applies to active-backup, balance-tlb and balance-alb, "
                        f"not {mode.value}",
                    )
            elif mode is BondMode.ACTIVE_BACKUP and b.members:
                primary = b.members[0]
            ovs_lacp = (
                OvsLacp.ACTIVE
                if (self.backend is Backend.OVS and mode is BondMode.BALANCE_TCP)
                else OvsLacp.OFF
            )
            out.append(
                Bond(
                    name=b.name,
                    members=tuple(b.members),
                    mode=mode,
                    miimon=miimon,
                    updelay=updelay,
                    downdelay=downdelay,
                    primary=primary,
                    lacp_rate=lacp_rate,
                    xmit_hash_policy=xmit,
                    ovs_lacp=ovs_lacp,
                    mtu=b.mtu,
                )
            )
        return out

    # --- bridges, VLANs --------------------------------------------------------------

    def port_name_ok(self, path: Path, port: str, what: str) -> None:
        if not CLOUDSTACK_PORT.fullmatch(port):
            self.err(
                path,
                f"{what} {port!r} has a name CloudStack's KVM agent does not recognise as a "
                "bridge port (use eth*, bond*, vlan*, em*, ens*, eno*, enp*, enx*, team* or pNpN)",
            )

    def bridges(
        self,
        bridges_in: list[BridgeIn],
        paths: list[Path],
        names: dict[str, tuple[str, Path]],
        bonds: list[Bond],
    ) -> list[Bridge]:
        members = {m for b in bonds for m in b.members}
        used: dict[str, str] = {}
        out = []
        for b, path in zip(bridges_in, paths, strict=True):
            up = b.uplink
            if up is not None:
                upath = (*path, "uplink")
                kind = names.get(up, ("", ()))[0]
                if kind not in ("NIC", "bond"):
                    self.err(
                        upath,
                        f"uplink {up!r} is not a NIC or bond defined in the topology"
                        if not kind
                        else f"uplink {up!r} is a {kind}; a bridge's uplink must be a NIC or bond",
                    )
                elif up in members:
                    self.err(
                        upath, f"NIC {up!r} is a bond member and cannot also be a bridge uplink"
                    )
                elif up in used:
                    self.err(upath, f"{up!r} is already the uplink of bridge {used[up]!r}")
                else:
                    used[up] = b.name
                    self.port_name_ok(upath, up, "uplink")
            gw4 = self.gateway_of(b.gateway, 4, (*path, "gateway"))
            gw6 = self.gateway_of(b.gateway6, 6, (*path, "gateway6"))
            out.append(
                Bridge(
                    name=b.name,
                    uplink=up,
                    addresses=tuple(_iface(a) for a in b.addresses),
                    gateway4=gw4,  # type: ignore[arg-type]
                    gateway6=gw6,  # type: ignore[arg-type]
                    dns=Dns(tuple(_ip(s) for s in b.dns.servers), tuple(b.dns.search))
                    if b.dns
                    else Dns(),
                    mtu=b.mtu,
                    stp=b.stp,
                    forward_delay=b.forward_delay,
                )
            )
        self._bridge_paths = {b.name: p for b, p in zip(bridges_in, paths, strict=True)}
        return out

    def gateway_of(self, text: str | None, family: int, path: Path) -> IPAddress | None:
        if text is None:
            return None
        gw = _ip(text)
        if gw.version != family:
            other = "gateway6" if family == 4 else "gateway"
            self.err(path, f"{gw} is an IPv{gw.version} address: put it in {other!r}")
            return None
        return gw

    def vlans(
        self,
        vlans_in: list[VlanIn],
        paths: list[Path],
        names: dict[str, tuple[str, Path]],
        bridges: list[Bridge],
    ) -> tuple[list[Vlan], list[Bridge]]:
        by_name = {b.name: b for b in bridges}
        seen_ids: dict[tuple[str, int], str] = {}
        bridge_names = set(by_name)
        vlans: list[Vlan] = []
        vlan_bridges: list[Bridge] = []
        for v, path in zip(vlans_in, paths, strict=True):
            # Assume failure until the VLAN bridge is built, so its addresses add no noise.
            self.failed_bridges.add(v.bridge)
            ppath = (*path, "parent")
            kind = names.get(v.parent, ("", ()))[0]
            device: str | None = None
            parent_bridge: str | None = None
            if kind == "bridge" and v.parent in by_name:
                parent_bridge = v.parent
                device = by_name[v.parent].uplink
                if device is None:
                    self.err(ppath, f"bridge {v.parent!r} has no uplink to carry VLAN {v.id}")
            elif kind in ("NIC", "bond"):
                member = rules.vlan_on_bond_member(v.parent, list(self.topology.bonds))
                if member:
                    self.err(ppath, member)
                    continue
                device = v.parent
                parent_bridge = next((b.name for b in bridges if b.uplink == device), None)
            else:
                self.err(
                    ppath, f"VLAN parent {v.parent!r} is not a NIC, bond or bridge of the topology"
                )
            if device is None:
                continue
            if self.backend is Backend.OVS and parent_bridge is None:
                self.err(
                    ppath,
                    f"on Open vSwitch VLAN {v.id} becomes a fake bridge, which needs a parent "
                    f"bridge: no bridge has {device!r} as its uplink",
                )
                continue
            key = (device, v.id)
            if key in seen_ids:
                self.err(
                    (*path, "id"),
                    f"VLAN {v.id} on {device!r} is already bridged by {seen_ids[key]!r}",
                )
                continue
            seen_ids[key] = v.bridge
            name = v.name or f"{device}.{v.id}"
            npath = (*path, "name") if v.name else path
            if len(name) > IFNAMSIZ:
                self.err(
                    npath,
                    f"VLAN device name {name!r} is {len(name)} characters long; Linux allows at "
                    f"most {IFNAMSIZ} (IFNAMSIZ): shorten {device!r} or set 'name'",
                )
                continue
            if name in names:
                self.err(npath, f"VLAN device name {name!r} is already used by a {names[name][0]}")
                continue
            if v.bridge in bridge_names:
                self.err((*path, "bridge"), f"bridge {v.bridge!r} is defined twice")
                continue
            bridge_names.add(v.bridge)
            names[name] = ("VLAN device", npath)  # a second VLAN may not take the name
            self.failed_bridges.discard(v.bridge)
            if self.backend is Backend.LINUXBRIDGE:
                self.port_name_ok(npath, name, "VLAN device")
            vlan = Vlan(
                id=v.id,
                name=name,
                device=device,
                parent_bridge=parent_bridge,
                bridge=v.bridge,
                mtu=v.mtu,
            )
            vlans.append(vlan)
            vlan_bridges.append(
                Bridge(
                    name=v.bridge,
                    uplink=name,
                    addresses=tuple(_iface(a) for a in v.addresses),
                    gateway4=self.gateway_of(v.gateway, 4, (*path, "gateway")),  # type: ignore[arg-type]
                    mtu=v.mtu,
                    vlan=vlan,
                )
            )
            self._bridge_paths[v.bridge] = path
        return vlans, vlan_bridges

    # --- addresses, gateways, DNS ------------------------------------------------------

    def attach_addresses(
        self, bridges: list[Bridge], extra: dict[str, list[tuple[IPInterface, Path]]]
    ) -> list[Bridge]:
        self.addr_paths: dict[IPInterface, Path] = {}
        out = []
        for b in bridges:
            bpath = self._bridge_paths.get(b.name, self.topo_path)
            addrs = list(b.addresses)
            for i, a in enumerate(addrs):
                self.addr_paths[a] = (*bpath, "addresses", i)
            for a, path in extra.get(b.name, []):
                addrs.append(a)
                self.addr_paths[a] = path
            out.append(replace(b, addresses=tuple(addrs)))
        known = {b.name for b in bridges}
        for name, items in extra.items():
            if name not in known and name not in self.failed_bridges:
                for _, path in items:
                    self.err(path, f"no bridge {name!r} to carry this address")
        for a, path in self.addr_paths.items():
            if isinstance(a, ipaddress.IPv6Interface) and not self.ipv6:
                self.err(
                    path, f"{a} is an IPv6 address but IPv6 is disabled for this host (ipv6: false)"
                )
        return out

    def attach_gateway_and_dns(self, bridges: list[Bridge], dns: Dns) -> list[Bridge]:
        h = self.ctx.host_in
        mgmt = _pick(h.traffic_labels, self.ctx.site.traffic_labels, TrafficLabelsIn()).management
        out = []
        for b in bridges:
            gw4, gw6 = b.gateway4, b.gateway6
            if b.name == mgmt and h.gateway:
                g = _ip(h.gateway)
                if isinstance(g, ipaddress.IPv4Address):
                    gw4 = g
                else:
                    self.err((*self.ctx.host_path, "gateway"), f"gateway {g} is IPv6: use gateway6")
            if b.name == mgmt and h.gateway6:
                g = _ip(h.gateway6)
                if isinstance(g, ipaddress.IPv6Address):
                    gw6 = g
                else:
                    self.err(
                        (*self.ctx.host_path, "gateway6"), f"gateway6 {g} is IPv4: use gateway"
                    )
            out.append(replace(b, gateway4=gw4, gateway6=gw6))
        for fam, attr, hkey in ((4, "gateway4", "gateway"), (6, "gateway6", "gateway6")):
            carriers = [b for b in out if getattr(b, attr) is not None]
            if len(carriers) > 1:
                names = ", ".join(b.name for b in carriers)
                self.err(
                    (*self.ctx.host_path, hkey) if getattr(h, hkey) else self.ctx.host_path,
                    f"more than one IPv{fam} default gateway ({names}); a host has one per family",
                )
            for b in carriers:
                gw = getattr(b, attr)
                path = (
                    (*self.ctx.host_path, hkey)
                    if b.name == mgmt and getattr(h, hkey)
                    else self._bridge_paths.get(b.name, self.ctx.host_path)
                )
                problem = rules.gateway_problem(gw, b, fam)
                if problem:
                    self.err(path, problem)
        # Host DNS goes on the bridge that carries the default route.
        if dns:
            target = next((b.name for b in out if b.gateway4 or b.gateway6), mgmt)
            out = [replace(b, dns=dns) if b.name == target and not b.dns else b for b in out]
        return out

    def dns(self) -> Dns:
        d = self.dns_in
        servers = tuple(_ip(s) for s in d.servers)
        if not self.ipv6:
            for i, s in enumerate(servers):
                if s.version == 6:
                    self.err(
                        (*self.ctx.setting_path("dns"), "servers", i),
                        f"DNS server {s} is IPv6 but IPv6 is disabled for this host",
                    )
        return Dns(servers, tuple(d.search))

    def check_addresses(self, bridges: list[Bridge]) -> None:
        seen: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, str] = {}
        nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
        for b in bridges:
            for a in b.addresses:
                path = self.addr_paths.get(a, self.ctx.host_path)
                if a.ip in seen:
                    self.err(path, f"address {a.ip} is already used on {seen[a.ip]!r}")
                    continue
                seen[a.ip] = b.name
                clash = next((n for n in nets if n[0].overlaps(a.network) and n[1] != b.name), None)
                if clash:
                    self.err(
                        path,
                        f"subnet {a.network} of {b.name!r} overlaps {clash[0]} on {clash[1]!r}; "
                        "the host could not tell which bridge to route through",
                    )
                nets.append((a.network, b.name))

    # --- MTU, labels, misc -------------------------------------------------------------

    def check_mtus(
        self, nics: list[Nic], bonds: list[Bond], bridges: list[Bridge], vlans: list[Vlan]
    ) -> None:
        mtu: dict[str, int | None] = {n.name: n.mtu for n in nics}
        mtu.update({b.name: b.mtu for b in bonds})
        mtu.update({v.name: v.mtu for v in vlans})
        mtu.update({b.name: b.mtu for b in bridges})
        # (child, parent, path, whether an unset parent MTU is Linux's default): a bond sets
        # its members' MTU itself, a bridge or VLAN device cannot exceed its lower device's.
        pairs: list[tuple[str, str, Path, bool]] = []
        for i, bond_in in enumerate(self.topology.bonds):
            bpath = (*self.topo_path, "bonds", i, "mtu")
            pairs += [(bond_in.name, m, bpath, False) for m in bond_in.members]
        for b in bridges:
            bpath = (*self._bridge_paths.get(b.name, self.topo_path), "mtu")
            if b.vlan is not None:
                pairs.append((b.vlan.name, b.vlan.device, bpath, True))
                if self.backend is Backend.OVS and b.vlan.parent_bridge:
                    pairs.append((b.name, b.vlan.parent_bridge, bpath, False))
            if b.uplink:
                pairs.append((b.name, b.uplink, bpath, True))
        reported: set[str] = set()
        for child, parent, path, default in pairs:
            problem = rules.mtu_problem(
                child, mtu.get(child), parent, mtu.get(parent), default=default
            )
            if problem and child not in reported:
                reported.add(child)
                self.err(path, problem)

    def traffic_labels(
        self, labels: TrafficLabelsIn, bridges: list[Bridge], storage: str | None
    ) -> TrafficLabels:
        names = {b.name for b in bridges}
        path = self.ctx.setting_path("traffic_labels")
        # The storage bridge is the default storage label only if it could be built.
        storage_label = labels.storage or (storage if storage in names else None)
        for kind in ("management", "guest", "public", "storage"):
            value = storage_label if kind == "storage" else getattr(labels, kind)
            if value is not None and value not in names:
                self.err(
                    (*path, kind) if path != self.ctx.host_path else path,
                    f"{kind} traffic label {value!r} names no bridge of this host "
                    f"(bridges: {', '.join(sorted(names))})",
                )
        return TrafficLabels(labels.management, labels.guest, labels.public, storage_label)

    def access(self) -> Access:
        a = _pick(self.ctx.host_in.access, self.ctx.site.access, AccessIn())
        return Access(a.root_password_hash, tuple(a.ssh_authorized_keys))

    def installer(self) -> Installer:
        i = _pick(self.ctx.host_in.installer, self.ctx.site.installer, InstallerIn())
        if i.install_agent and not i.agent_repo:
            self.err(
                (*self.ctx.setting_path("installer"), "install_agent"),
                "install_agent needs agent_repo (the CloudStack agent is not in the distro repos)",
            )
        return Installer(
            mirror=i.mirror,
            ovs_repo=i.ovs_repo,
            agent_repo=i.agent_repo,
            install_agent=i.install_agent,
            disk=i.disk,
            timezone=i.timezone,
            keyboard=i.keyboard,
            locale=i.locale,
        )


def _duplicates(items: Iterable[tuple[str, Path]], what: str, check: Checker) -> None:
    first: dict[str, Path] = {}
    for value, path in items:
        if value in first:
            check.error(path, f"duplicate {what} {value} (also at {format_path(first[value])})")
        else:
            first[value] = path


def resolve(inv: InventoryIn) -> tuple[list[Host], list[Problem]]:
    check = Checker()
    resolvers = [HostResolver(_Ctx(i, h, inv.site), check) for i, h in enumerate(inv.hosts)]
    hosts = [r.resolve() for r in resolvers]
    cross_host_checks(inv, hosts, resolvers, check)
    return hosts, check.problems


def cross_host_checks(
    inv: InventoryIn, hosts: list[Host], resolvers: list[HostResolver], check: Checker
) -> None:
    _duplicates(
        ((h.hostname, ("hosts", i, "hostname")) for i, h in enumerate(inv.hosts)), "hostname", check
    )
    # Hosts whose short names clash were reported above; their FQDNs would only repeat it.
    short = Counter(h.hostname for h in hosts)
    _duplicates(
        ((h.fqdn, ("hosts", i, "hostname")) for i, h in enumerate(hosts) if short[h.hostname] == 1),
        "FQDN",
        check,
    )
    macs: list[tuple[str, Path]] = []
    first_ip: dict[str, tuple[int, Path]] = {}
    for i, (h_in, h, r) in enumerate(zip(inv.hosts, hosts, resolvers, strict=True)):
        for n in h.nics:
            if n.mac:
                path: Path = ("hosts", i, "macs", n.name) if n.name in h_in.macs else ("hosts", i)
                macs.append((n.mac, path))
        for a, apath in r.addr_paths.items():
            ip = str(a.ip)
            if ip not in first_ip:
                first_ip[ip] = (i, apath)
            elif first_ip[ip][0] != i:  # same-host clashes are reported by the host itself
                other = inv.hosts[first_ip[ip][0]].hostname
                check.error(apath, f"duplicate IP address {ip} (also used by host {other})")
    _duplicates(macs, "MAC address", check)
