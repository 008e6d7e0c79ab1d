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
        d = self.bond_defaults
        for i, b in enumerate(self.topology.bonds):
            path = (*self.topo_path, "bonds", i)
            mode = b.mode or d.mode
            miimon = pick(b.miimon, d.miimon, 100)
            updelay = pick(b.updelay, d.updelay, 0)
            downdelay = pick(b.downdelay, d.downdelay, 0)
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
