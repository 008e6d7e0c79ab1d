"""Addresses, gateways, DNS and MTUs of a host's bridges."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any, TypeVar

from cloudbr.inventory import rules
from cloudbr.inventory.base import DEFAULT_LABELS, ResolverBase, parse_ip, pick
from cloudbr.inventory.source import Path
from cloudbr.model import (
    Backend,
    Bond,
    Bridge,
    Dns,
    IPAddress,
    IPInterface,
    Nic,
    Vlan,
)

_Ip = TypeVar("_Ip", ipaddress.IPv4Address, ipaddress.IPv6Address)
IPV6_MIN_MTU = 1280  # RFC 8200, 5: every link that carries IPv6


class AddressResolver(ResolverBase):
    """Where addresses, gateways and DNS go, and whether MTUs fit."""

    # --- addresses, gateways, DNS ------------------------------------------------------

    def attach_addresses(
        self, bridges: list[Bridge], extra: dict[str, list[tuple[IPInterface, Path]]]
    ) -> list[Bridge]:
        self.addr_paths = {}
        out = []
        for b in bridges:
            bpath = self._bridge_paths.get(b.name, self.topo_path)
            for i, a in enumerate(b.addresses):
                self.addr_paths[a] = (*bpath, "addresses", i)
            more = extra.get(b.name)
            if not more:
                out.append(b)  # a copy would be equal: not made (10,000 hosts, 20,000 copies)
                continue
            for a, path in more:
                self.addr_paths[a] = path
            out.append(replace(b, addresses=(*b.addresses, *(a for a, _ in more))))
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
        mgmt = pick(h.traffic_labels, self.ctx.site.traffic_labels, DEFAULT_LABELS).management
        gateways = [self.host_gateways(b, mgmt) for b in bridges]
        for fam, hkey in ((4, "gateway"), (6, "gateway6")):
            carriers: list[tuple[Bridge, IPAddress]] = [
                (b, gw)
                for b, pair in zip(bridges, gateways, strict=True)
                if (gw := pair[fam == 6]) is not None
            ]
            if len(carriers) > 1:
                names = ", ".join(b.name for b, _ in carriers)
                self.err(
                    (*self.ctx.host_path, hkey) if getattr(h, hkey) else self.ctx.host_path,
                    f"more than one IPv{fam} default gateway ({names}); a host has one per family",
                )
            for b, gw in carriers:
                path = (
                    (*self.ctx.host_path, hkey)
                    if b.name == mgmt and getattr(h, hkey)
                    else self._bridge_paths.get(b.name, self.ctx.host_path)
                )
                problem = rules.gateway_problem(gw, b, fam)
                if problem:
                    self.err(path, problem)
        # Host DNS goes on the bridge that carries the default route.
        routed = (b.name for b, (gw4, gw6) in zip(bridges, gateways, strict=True) if gw4 or gw6)
        target = next(routed, mgmt) if dns else None
        out = []
        # Each bridge is copied once, and only when something changes.
        for b, (gw4, gw6) in zip(bridges, gateways, strict=True):
            changes: dict[str, Any] = {}
            if gw4 is not b.gateway4 or gw6 is not b.gateway6:
                changes.update(gateway4=gw4, gateway6=gw6)
            if b.name == target and not b.dns:
                changes["dns"] = dns
            out.append(replace(b, **changes) if changes else b)
        return out

    def host_gateways(
        self, b: Bridge, mgmt: str
    ) -> tuple[ipaddress.IPv4Address | None, ipaddress.IPv6Address | None]:
        """The bridge's gateways, the host's own on its management bridge."""
        if b.name != mgmt:
            return b.gateway4, b.gateway6
        h = self.ctx.host_in
        gw4 = self.own_gateway("gateway", h.gateway, ipaddress.IPv4Address, "gateway6")
        gw6 = self.own_gateway("gateway6", h.gateway6, ipaddress.IPv6Address, "gateway")
        return gw4 or b.gateway4, gw6 or b.gateway6

    def own_gateway(self, field: str, text: str | None, kind: type[_Ip], other: str) -> _Ip | None:
        """The host's `field`, when it is an address of `kind` (else an error naming `other`)."""
        if not text:
            return None
        g = parse_ip(text)
        if isinstance(g, kind):
            return g
        self.err((*self.ctx.host_path, field), f"{field} {g} is IPv{g.version}: use {other}")
        return None

    def dns(self) -> Dns:
        d = self.dns_in
        servers = tuple(parse_ip(s) for s in d.servers)
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
                pairs.append((b.vlan.name, b.vlan.device.name, bpath, True))
                if self.backend is Backend.OVS and b.vlan.parent_bridge:
                    pairs.append((b.name, b.vlan.parent_bridge, bpath, False))
            if b.uplink:
                pairs.append((b.name, b.uplink.name, bpath, True))
        reported: set[str] = set()
        for child, parent, path, default in pairs:
            problem = rules.mtu_problem(
                child, mtu.get(child), parent, mtu.get(parent), default=default
            )
            if problem and child not in reported:
                reported.add(child)
                self.err(path, problem)
        lower = {child: parent for child, parent, _, default in pairs if default}
        self.check_ipv6_mtus(bridges, mtu, lower)

    def check_ipv6_mtus(
        self, bridges: list[Bridge], mtu: dict[str, int | None], lower: dict[str, str]
    ) -> None:
        """A bridge with an IPv6 address needs an MTU of 1280 (its own, else its lower
        device's): below it the kernel takes IPv6 off the device and refuses the address."""
        for b in bridges:
            name, found = b.name, mtu.get(b.name)
            while found is None and name in lower:
                name = lower[name]
                found = mtu.get(name)
            if b.ipv6 and found is not None and found < IPV6_MIN_MTU:
                whose = "" if name == b.name else f" (that of {name!r} below it)"
                where = self._bridge_paths.get(b.name, self.topo_path)
                self.err(
                    (*where, "mtu") if name == b.name else where,
                    f"bridge {b.name!r} carries IPv6 ({b.ipv6[0]}) with an MTU of {found}"
                    f"{whose}: IPv6 needs at least {IPV6_MIN_MTU} (RFC 8200), and the kernel "
                    "takes IPv6 off a device below it",
                )
