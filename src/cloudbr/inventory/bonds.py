"""Bonds: members, modes per backend, link monitoring, primary, LACP."""

from __future__ import annotations

from cloudbr.inventory.base import ResolverBase, pick
from cloudbr.inventory.schema import BondIn
from cloudbr.inventory.source import Path
from cloudbr.model import (
    LINUX_BOND_MODES,
    OVS_BOND_MODES,
    Backend,
    Bond,
    BondMode,
    Nic,
    OvsLacp,
)

# Bonding modes where the kernel honours `primary`.
PRIMARY_MODES = frozenset({BondMode.ACTIVE_BACKUP, BondMode.BALANCE_TLB, BondMode.BALANCE_ALB})
HASH_MODES = frozenset({BondMode.BALANCE_XOR, BondMode.LACP, BondMode.BALANCE_TLB})


class BondResolver(ResolverBase):
    """The bonds of a host's topology."""

    def bond_field_path(self, path: Path, b: BondIn, key: str) -> Path:
        """The bond's own key when it sets it, else the `bond` defaults it inherited."""
        if getattr(b, key) is not None:
            return (*path, key)
        return (*self.ctx.setting_path("bond"), key)

    def bonds(self, nics: list[Nic]) -> list[Bond]:
        nic_names = {n.name for n in nics}
        owner: dict[str, str] = {}
        out = []
        for i, b in enumerate(self.topology.bonds):
            path = (*self.topo_path, "bonds", i)
            self.check_members(b, path, nic_names, owner)
            bond = self.effective_bond(b)
            if self.backend is Backend.OVS:
                self.check_ovs_bond(b, bond, path)
            else:
                self.check_linux_bond(b, bond, path)
            self.check_link_monitoring(b, bond, path)
            self.check_primary(b, bond, path)
            out.append(bond)
        return out

    def effective_bond(self, b: BondIn) -> Bond:
        """The bond with the `bond` defaults applied (primary: the first member for
        active-backup when none is named)."""
        d = self.bond_defaults
        mode = b.mode or d.mode
        primary = b.primary
        if primary is None and mode is BondMode.ACTIVE_BACKUP and b.members:
            primary = b.members[0]
        ovs_tcp = self.backend is Backend.OVS and mode is BondMode.BALANCE_TCP
        return Bond(
            name=b.name,
            members=tuple(b.members),
            mode=mode,
            miimon=pick(b.miimon, d.miimon, 100),
            updelay=pick(b.updelay, d.updelay, 0),
            downdelay=pick(b.downdelay, d.downdelay, 0),
            primary=primary,
            lacp_rate=b.lacp_rate or d.lacp_rate,
            xmit_hash_policy=b.xmit_hash_policy or d.xmit_hash_policy,
            ovs_lacp=OvsLacp.ACTIVE if ovs_tcp else OvsLacp.OFF,
            mtu=b.mtu,
        )

    def check_members(
        self, b: BondIn, path: Path, nic_names: set[str], owner: dict[str, str]
    ) -> None:
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

    def check_ovs_bond(self, b: BondIn, bond: Bond, path: Path) -> None:
        if len(b.members) < 2:
            self.err(
                (*path, "members"),
                f"an Open vSwitch bond needs at least two members, {b.name!r} has "
                f"{len(b.members)} (use the NIC as the bridge uplink instead)",
            )
        if bond.mode not in OVS_BOND_MODES:
            self.err(
                self.bond_field_path(path, b, "mode"),
                f"bond mode {bond.mode.value!r} is not available on Open vSwitch "
                "(use active-backup, balance-slb, or balance-tcp for LACP)",
            )
        if bond.lacp_rate and bond.mode is not BondMode.BALANCE_TCP:
            self.err(
                self.bond_field_path(path, b, "lacp_rate"),
                "lacp_rate needs mode balance-tcp (LACP) on Open vSwitch",
            )
        if bond.xmit_hash_policy:
            self.err(
                self.bond_field_path(path, b, "xmit_hash_policy"),
                "xmit_hash_policy is a linux bonding option; Open vSwitch hashes by mode",
            )

    def check_linux_bond(self, b: BondIn, bond: Bond, path: Path) -> None:
        mode = bond.mode
        if mode not in LINUX_BOND_MODES:
            self.err(
                self.bond_field_path(path, b, "mode"),
                f"bond mode {mode.value!r} exists only on Open vSwitch "
                "(linux bonding modes: "
                + ", ".join(m.value for m in BondMode if m in LINUX_BOND_MODES)
                + ")",
            )
        if bond.lacp_rate and mode is not BondMode.LACP:
            self.err(
                self.bond_field_path(path, b, "lacp_rate"),
                f"lacp_rate needs mode 802.3ad, not {mode.value}",
            )
        if bond.xmit_hash_policy and mode not in HASH_MODES:
            self.err(
                self.bond_field_path(path, b, "xmit_hash_policy"),
                f"xmit_hash_policy applies to balance-xor, 802.3ad and balance-tlb, "
                f"not {mode.value}",
            )

    def check_link_monitoring(self, b: BondIn, bond: Bond, path: Path) -> None:
        miimon = bond.miimon
        if miimon == 0:
            self.err(
                self.bond_field_path(path, b, "miimon"),
                "miimon 0 turns link monitoring off: the bond would never fail over",
            )
        for key, delay in (("updelay", bond.updelay), ("downdelay", bond.downdelay)):
            if miimon and delay % miimon:
                self.err(
                    self.bond_field_path(path, b, key),
                    f"{key} {delay} must be a multiple of miimon {miimon} "
                    "(the kernel would silently round it down)",
                )

    def check_primary(self, b: BondIn, bond: Bond, path: Path) -> None:
        primary = b.primary
        if primary is None:
            return
        if primary not in b.members:
            self.err((*path, "primary"), f"primary {primary!r} is not a member of {b.name!r}")
        if bond.mode not in PRIMARY_MODES:
            self.err(
                (*path, "primary"),
                "primary applies to active-backup, balance-tlb and balance-alb, "
                f"not {bond.mode.value}",
            )
