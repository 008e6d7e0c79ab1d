"""Bridges and VLANs: uplinks, CloudStack port names, VLAN devices and their bridges."""

from __future__ import annotations

from cloudbr.inventory import rules
from cloudbr.inventory.base import ResolverBase, parse_iface, parse_ip
from cloudbr.inventory.schema import (
    CLOUDSTACK_PORT,
    BridgeIn,
    VlanIn,
)
from cloudbr.inventory.source import Path
from cloudbr.model import (
    IFNAMSIZ,
    Backend,
    Bond,
    Bridge,
    DeviceKind,
    Dns,
    IPAddress,
    Uplink,
    Vlan,
)

Names = dict[str, tuple[DeviceKind, Path]]
UPLINK_KINDS = (DeviceKind.NIC, DeviceKind.BOND)


class TopologyResolver(ResolverBase):
    """The bridges and VLANs of a host's topology."""

    # --- bridges, VLANs --------------------------------------------------------------

    def port_name_ok(self, path: Path, port: str, what: str) -> None:
        if not CLOUDSTACK_PORT.fullmatch(port):
            self.err(
                path,
                f"{what} {port!r} has a name CloudStack's KVM agent does not recognise as a "
                "bridge port (use eth*, bond*, vlan*, em*, ens*, eno*, enp*, enx*, team* or pNpN)",
            )

    def uplink(
        self, b: BridgeIn, path: Path, names: Names, members: set[str], used: dict[str, str]
    ) -> Uplink | None:
        """The bridge's uplink, typed by what the topology says it is (problems reported)."""
        up = b.uplink
        if up is None:
            return None
        upath = (*path, "uplink")
        kind = names[up][0] if up in names else None
        if kind not in UPLINK_KINDS:
            self.err(
                upath,
                f"uplink {up!r} is not a NIC or bond defined in the topology"
                if not kind
                else f"uplink {up!r} is a {kind}; a bridge's uplink must be a NIC or bond",
            )
        elif up in members:
            self.err(upath, f"NIC {up!r} is a bond member and cannot also be a bridge uplink")
        elif up in used:
            self.err(upath, f"{up!r} is already the uplink of bridge {used[up]!r}")
        else:
            used[up] = b.name
            self.port_name_ok(upath, up, "uplink")
        # A wrong uplink is reported (the inventory is refused); the bridge keeps the name so
        # that the rules after this one see an uplink.
        return Uplink(up, kind if kind in UPLINK_KINDS else DeviceKind.NIC)

    def bridges(
        self,
        bridges_in: list[BridgeIn],
        paths: list[Path],
        names: Names,
        bonds: list[Bond],
    ) -> list[Bridge]:
        members = {m for b in bonds for m in b.members}
        used: dict[str, str] = {}
        out = []
        for b, path in zip(bridges_in, paths, strict=True):
            uplink = self.uplink(b, path, names, members, used)
            gw4 = self.gateway_of(b.gateway, 4, (*path, "gateway"))
            gw6 = self.gateway_of(b.gateway6, 6, (*path, "gateway6"))
            out.append(
                Bridge(
                    name=b.name,
                    uplink=uplink,
                    addresses=tuple(parse_iface(a) for a in b.addresses),
                    gateway4=gw4,  # type: ignore[arg-type]
                    gateway6=gw6,  # type: ignore[arg-type]
                    dns=Dns(tuple(parse_ip(s) for s in b.dns.servers), tuple(b.dns.search))
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
        gw = parse_ip(text)
        if gw.version != family:
            other = "gateway6" if family == 4 else "gateway"
            self.err(path, f"{gw} is an IPv{gw.version} address: put it in {other!r}")
            return None
        return gw

    def vlans(
        self,
        vlans_in: list[VlanIn],
        paths: list[Path],
        names: Names,
        bridges: list[Bridge],
    ) -> tuple[list[Vlan], list[Bridge]]:
        seen_ids: dict[tuple[str, int], str] = {}
        bridge_names = {b.name for b in bridges}
        vlans: list[Vlan] = []
        vlan_bridges: list[Bridge] = []
        for v, path in zip(vlans_in, paths, strict=True):
            # Assume failure until the VLAN bridge is built, so its addresses add no noise.
            self.failed_bridges.add(v.bridge)
            found = self.vlan_device(v, (*path, "parent"), names, bridges)
            if found is None:
                continue
            device, parent_bridge = found
            name = self.vlan_name(v, path, device.name, names, seen_ids, bridge_names)
            if name is None:
                continue
            self.failed_bridges.discard(v.bridge)
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
                    uplink=Uplink(name, DeviceKind.VLAN),
                    addresses=tuple(parse_iface(a) for a in v.addresses),
                    gateway4=self.gateway_of(v.gateway, 4, (*path, "gateway")),  # type: ignore[arg-type]
                    mtu=v.mtu,
                    vlan=vlan,
                )
            )
            self._bridge_paths[v.bridge] = path
        return vlans, vlan_bridges

    def vlan_device(
        self, v: VlanIn, ppath: Path, names: Names, bridges: list[Bridge]
    ) -> tuple[Uplink, str | None] | None:
        """The device a VLAN tags and the bridge that device is the uplink of; None when the
        parent cannot carry it (reported)."""
        by_name = {b.name: b for b in bridges}
        kind = names[v.parent][0] if v.parent in names else None
        device: Uplink | None = None
        parent_bridge: str | None = None
        if kind is DeviceKind.BRIDGE and v.parent in by_name:
            parent_bridge = v.parent
            device = by_name[v.parent].uplink
            if device is None:
                self.err(ppath, f"bridge {v.parent!r} has no uplink to carry VLAN {v.id}")
        elif kind in UPLINK_KINDS:
            member = rules.vlan_on_bond_member(v.parent, list(self.topology.bonds))
            if member:
                self.err(ppath, member)
                return None
            device = Uplink(v.parent, kind)
            parent_bridge = next((b.name for b in bridges if b.uplink_name == v.parent), None)
        else:
            self.err(
                ppath, f"VLAN parent {v.parent!r} is not a NIC, bond or bridge of the topology"
            )
        if device is None:
            return None
        if self.backend is Backend.OVS and parent_bridge is None:
            self.err(
                ppath,
                f"on Open vSwitch VLAN {v.id} becomes a fake bridge, which needs a parent "
                f"bridge: no bridge has {device.name!r} as its uplink",
            )
            return None
        return device, parent_bridge

    def vlan_name(
        self,
        v: VlanIn,
        path: Path,
        device: str,
        names: Names,
        seen_ids: dict[tuple[str, int], str],
        bridge_names: set[str],
    ) -> str | None:
        """The VLAN device's name, claimed with its bridge's; None on a clash (reported)."""
        key = (device, v.id)
        if key in seen_ids:
            self.err(
                (*path, "id"), f"VLAN {v.id} on {device!r} is already bridged by {seen_ids[key]!r}"
            )
            return None
        seen_ids[key] = v.bridge
        name = v.name or f"{device}.{v.id}"
        npath = (*path, "name") if v.name else path
        if len(name) > IFNAMSIZ:
            self.err(
                npath,
                f"VLAN device name {name!r} is {len(name)} characters long; Linux allows at "
                f"most {IFNAMSIZ} (IFNAMSIZ): shorten {device!r} or set 'name'",
            )
            return None
        if name in names:
            self.err(npath, f"VLAN device name {name!r} is already used by a {names[name][0]}")
            return None
        if v.bridge in bridge_names:
            self.err((*path, "bridge"), f"bridge {v.bridge!r} is defined twice")
            return None
        bridge_names.add(v.bridge)
        names[name] = (DeviceKind.VLAN, npath)  # a second VLAN may not take the name
        if self.backend is Backend.LINUXBRIDGE:
            self.port_name_ok(npath, name, "VLAN device")
        return name
