"""Apply site defaults to each host, check rules that span fields and hosts, build the model.

Every rule reports through `Checker.error(path, message)`, with the path of the YAML value at
fault, so that all problems of an inventory come out together with their line and column.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable

from cloudbr import platforms
from cloudbr.inventory import rules
from cloudbr.inventory.addressing import AddressResolver
from cloudbr.inventory.base import (
    DEFAULT_ACCESS,
    DEFAULT_INSTALLER,
    DEFAULT_LABELS,
    Checker,
    Ctx,
    parse_iface,
    parse_ip,
    pick,
)
from cloudbr.inventory.bonds import BondResolver
from cloudbr.inventory.schema import (
    HostIn,
    InventoryIn,
    SiteIn,
    StorageIn,
    TrafficLabelsIn,
    VlanIn,
)
from cloudbr.inventory.source import Path, Problem, format_path
from cloudbr.inventory.topology import TopologyResolver
from cloudbr.model import (
    Access,
    Backend,
    Bridge,
    DeviceKind,
    Host,
    Installer,
    IPInterface,
    Nic,
    TrafficLabels,
    Vlan,
)


class HostResolver(BondResolver, TopologyResolver, AddressResolver):
    """One host: its settings resolved, every rule checked, its model built."""

    # --- top level -------------------------------------------------------------------

    def resolve(self) -> Host:
        h = self.ctx.host_in
        self.check_distro()
        nics = self.nics()
        names = self.name_table(nics)
        bonds = self.bonds(nics)
        labels = pick(h.traffic_labels, self.ctx.site.traffic_labels, DEFAULT_LABELS)
        extra_addr, storage_bridge = self.host_addresses(labels.management)
        vlans_in, vlan_paths = self.vlans_with_storage(storage_bridge)
        self.check_address_targets(extra_addr, names)
        bridges_in = list(self.topology.bridges)
        bridge_paths: list[Path] = [(*self.topo_path, "bridges", i) for i in range(len(bridges_in))]
        bridges = self.bridges(bridges_in, bridge_paths, names, bonds)
        vlans, vlan_bridges = self.vlans(vlans_in, vlan_paths, names, bridges)
        self.check_names_for_stack(names, vlans, storage_bridge)
        all_bridges = self.attach_addresses([*bridges, *vlan_bridges], extra_addr)
        dns = self.dns()
        all_bridges = self.attach_gateway_and_dns(all_bridges, dns)
        self.check_mtus(nics, bonds, all_bridges, vlans)
        traffic = self.traffic_labels(labels, all_bridges, storage_bridge)
        self.check_addresses(all_bridges)
        host = Host(
            hostname=h.hostname,
            domain=pick(h.domain, self.ctx.site.domain, None),
            distro=self.distro,
            backend=self.backend,
            nics=tuple(nics),
            bonds=tuple(bonds),
            bridges=tuple(all_bridges),
            vlans=tuple(vlans),
            dns=dns,
            ipv6=self.ipv6,
            traffic_labels=traffic,
            blacklist_bridge_module=pick(
                h.blacklist_bridge_module, self.ctx.site.blacklist_bridge_module, True
            ),
            access=self.access(),
            installer=self.installer(),
            reachability_target=parse_ip(h.reachability_target) if h.reachability_target else None,
        )
        self.host_rules(host)
        return host

    def check_distro(self) -> None:
        if not platforms.get(self.distro).rendered:
            supported = ", ".join(sorted(p.id.value for p in platforms.rendered()))
            self.err(
                self.ctx.setting_path("distro"),
                f"distro {self.distro.value!r} is not supported yet (supported: {supported})",
            )
        platform = platforms.get(self.distro)
        if platform.rendered and not platform.stacks(self.backend):
            reason = "; ".join(platform.refused(self.backend)) or "no network stack for it"
            self.err(
                self.ctx.setting_path("backend"),
                f"backend {self.backend.value!r} is not available on {self.distro.value}: "
                + reason,
            )

    def check_names_for_stack(
        self, names: dict[str, tuple[DeviceKind, Path]], vlans: list[Vlan], storage: str | None
    ) -> None:
        """Names the host's network stack would misread or skip (a dotted bridge taken for a
        VLAN, a VLAN tagged by its name rather than its id, an ifcfg file never brought up)."""
        stacks = frozenset(platforms.get(self.distro).stacks(self.backend))
        by_name = {v.name: v for v in vlans}
        if storage is not None and storage not in names:
            names = {**names, storage: (DeviceKind.BRIDGE, self.ctx.setting_path("storage"))}
        for name, (kind, path) in names.items():
            vlan = by_name.get(name) if kind is DeviceKind.VLAN else None
            if vlan is not None and self.backend is Backend.LINUXBRIDGE:
                problem = rules.vlan_name_problem(name, vlan.device.name, vlan.id, stacks)
            else:
                problem = rules.interface_name_problem(
                    name, kind, stacks, self.backend is Backend.LINUXBRIDGE
                )
            if problem:
                self.err(path, problem)

    def host_addresses(
        self, management: str
    ) -> tuple[dict[str, list[tuple[IPInterface, Path]]], str | None]:
        """The host's own addresses by the bridge they go on, and its storage bridge."""
        h = self.ctx.host_in
        extra: dict[str, list[tuple[IPInterface, Path]]] = defaultdict(list)
        for key in ("address", "address6"):
            value = getattr(h, key)
            if value:
                extra[management].append((parse_iface(value), (*self.ctx.host_path, key)))
        if not h.storage_address:
            return extra, None
        path = (*self.ctx.host_path, "storage_address")
        extra[self.storage.bridge].append((parse_iface(h.storage_address), path))
        return extra, self.storage.bridge

    def vlans_with_storage(self, storage_bridge: str | None) -> tuple[list[VlanIn], list[Path]]:
        """The topology's VLANs, plus the storage VLAN when no bridge of it is the storage
        bridge."""
        vlans_in = list(self.topology.vlans)
        paths: list[Path] = [(*self.topo_path, "vlans", i) for i in range(len(vlans_in))]
        known = {b.name for b in self.topology.bridges} | {v.bridge for v in vlans_in}
        if storage_bridge is not None and storage_bridge not in known:
            vlans_in.append(_storage_vlan(self.storage))
            paths.append(self.ctx.setting_path("storage"))
        return vlans_in, paths

    def check_address_targets(
        self,
        extra: dict[str, list[tuple[IPInterface, Path]]],
        names: dict[str, tuple[DeviceKind, Path]],
    ) -> None:
        for name in extra:
            if name in names and names[name][0] is not DeviceKind.BRIDGE:
                self.err(
                    (*self.ctx.host_path, "address"),
                    f"{name!r} is a {names[name][0]}, not a bridge",
                )

    def host_rules(self, host: Host) -> None:
        """Rules over the whole host: what a renderer or carrier could not write."""
        rules.check_fqdn(host, (*self.ctx.host_path, "hostname"), self.err)
        rules.check_unreachable_gateways(host, self._bridge_paths, self.err)
        bond_paths = [(*self.topo_path, "bonds", i) for i in range(len(host.bonds))]
        rules.check_ovs_bonds(host, bond_paths, self.err)
        rules.check_mirror(host, self.ctx.setting_path("installer"), self.err)
        keys_path = (*self.ctx.setting_path("access"), "ssh_authorized_keys")
        rules.check_preseed_keys(host, keys_path, self.err)
        management = host.traffic_labels.management
        mgmt = next((b for b in host.bridges if b.name == management), None)
        if mgmt is not None and not mgmt.addresses:
            self.err(
                (*self.ctx.host_path, "hostname"),
                f"host has no address on its management bridge {management!r}: "
                "set 'address' (e.g. 192.168.100.20/24)",
            )

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

    def name_table(self, nics: list[Nic]) -> dict[str, tuple[DeviceKind, Path]]:
        """Every interface name the topology defines, with its kind; reports clashes."""
        table: dict[str, tuple[DeviceKind, Path]] = {}
        t, top = self.topology, self.topo_path
        entries: list[tuple[str, DeviceKind, Path]] = [
            *((n.name, DeviceKind.NIC, (*top, "nics", i, "name")) for i, n in enumerate(t.nics)),
            *((b.name, DeviceKind.BOND, (*top, "bonds", i, "name")) for i, b in enumerate(t.bonds)),
            *(
                (b.name, DeviceKind.BRIDGE, (*top, "bridges", i, "name"))
                for i, b in enumerate(t.bridges)
            ),
            *(
                (v.bridge, DeviceKind.BRIDGE, (*top, "vlans", i, "bridge"))
                for i, v in enumerate(t.vlans)
            ),
        ]
        for name, kind, path in entries:
            if name in table:
                other_kind, _ = table[name]
                self.err(path, f"interface name {name!r} is already used by a {other_kind}")
                continue
            table[name] = (kind, path)
        return table

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
        a = pick(self.ctx.host_in.access, self.ctx.site.access, DEFAULT_ACCESS)
        return Access(a.root_password_hash, tuple(a.ssh_authorized_keys))

    def installer(self) -> Installer:
        i = pick(self.ctx.host_in.installer, self.ctx.site.installer, DEFAULT_INSTALLER)
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


@functools.lru_cache(maxsize=64)
def _storage_vlan(storage: StorageIn) -> VlanIn:
    """The storage VLAN of hosts that share `storage` (one frozen model for all of them)."""
    return VlanIn(id=storage.vlan, parent=storage.parent, bridge=storage.bridge, mtu=storage.mtu)


def _duplicates(items: Iterable[tuple[str, Path]], what: str, check: Checker) -> None:
    first: dict[str, Path] = {}
    for value, path in items:
        if value in first:
            check.error(path, f"duplicate {what} {value} (also at {format_path(first[value])})")
        else:
            first[value] = path


def resolve(inv: InventoryIn) -> tuple[list[Host], list[Problem]]:
    check = Checker()
    resolvers = [HostResolver(Ctx(i, h, inv.site), check) for i, h in enumerate(inv.hosts)]
    hosts = [r.resolve() for r in resolvers]
    cross_host_checks(inv, hosts, resolvers, check)
    return hosts, check.problems


def host_problems(site: SiteIn, hosts: Iterable[tuple[int, HostIn]]) -> list[Problem]:
    """Each host's own rules, for the hosts that passed the schema while others did not: their
    problems come out beside the schema's, not one run later. The checks across hosts
    (duplicates, PXE) need every host, so they wait until the whole inventory validates."""
    check = Checker()
    for i, h in hosts:
        HostResolver(Ctx(i, h, site), check).resolve()
    return check.problems


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
