"""Day two: the host's plan (what `cloudbr-verify` compares the live host with) and the
verify program itself, shipped byte for byte from `cloudbr.verify.onhost`, with the comparison
it imports (`cloudbr_drift`, in onhost.LIB).

`plan(host)` is the one derivation of the plan: the on-host program reads it from
/etc/cloudbr/plan.json, and `cloudbr verify` on the management side computes it from the
inventory and feeds it to the same comparison code.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import cloudbr_drift
from cloudbr import jsondump
from cloudbr.files import File, FileMap, Role
from cloudbr.model import Backend, Host
from cloudbr.render.common import agent_settings
from cloudbr.topology import bridge_mtu, nic_mtu
from cloudbr.verify import onhost

NAME = "verify"
PLAN_PATH = "/etc/cloudbr/plan.json"
PROGRAM_PATH = "/usr/local/sbin/cloudbr-verify"
COMPARISON_PATH = f"{onhost.LIB}/cloudbr_drift.py"
PLAN_FORMAT = 1


def _interfaces(host: Host) -> dict[str, dict[str, Any]]:
    """Kernel devices the plan names, with their MTU (None: not set) and addresses."""
    ovs = host.backend is Backend.OVS
    out: dict[str, dict[str, Any]] = {}
    for nic in host.nics:
        out[nic.name] = {"kind": "nic", "mtu": nic_mtu(host, nic.name), "addresses": []}
    if not ovs:  # OVS bonds and VLANs are ports inside OVS, not kernel devices
        for bond in host.bonds:
            out[bond.name] = {"kind": "bond", "mtu": bond.mtu, "addresses": []}
        for vlan in host.vlans:
            out[vlan.name] = {"kind": "vlan", "mtu": vlan.mtu, "addresses": []}
    for br in host.bridges:
        mtu = bridge_mtu(host, br)
        addrs = [str(a) for a in br.addresses if a.version == 4 or host.ipv6]
        out[br.name] = {"kind": "bridge", "mtu": mtu, "addresses": addrs}
    return out


def _bridges(host: Host) -> dict[str, dict[str, Any]]:
    ovs = host.backend is Backend.OVS
    out: dict[str, dict[str, Any]] = {}
    for br in host.bridges:
        vlan = br.vlan
        if ovs and vlan is not None:  # a fake bridge: its parent and tag, no ports of its own
            fake = {"id": vlan.id, "parent": vlan.parent_bridge}
            out[br.name] = {"ports": [], "vlan": fake}
        else:
            out[br.name] = {"ports": [br.uplink.name] if br.uplink else [], "vlan": None}
    return out


def _routes(host: Host) -> dict[str, dict[str, str] | None]:
    """Default route per family; None: there must be none. IPv6 without a gateway of ours
    is left out (router advertisements may give one)."""
    v4 = next((b for b in host.bridges if b.gateway4), None)
    v6 = next((b for b in host.bridges if b.gateway6), None)
    routes: dict[str, dict[str, str] | None] = {
        "4": {"via": str(v4.gateway4), "dev": v4.name} if v4 else None
    }
    if not host.ipv6:
        routes["6"] = None
    elif v6:
        routes["6"] = {"via": str(v6.gateway6), "dev": v6.name}
    return routes


def plan(host: Host) -> dict[str, Any]:
    """The host's networking as `cloudbr-verify` checks it (JSON-ready)."""
    return {
        "format": PLAN_FORMAT,
        "host": host.fqdn,
        "backend": host.backend.value,
        "ipv6": host.ipv6,
        "interfaces": _interfaces(host),
        "bonds": {
            b.name: {
                "mode": b.mode.value,
                "miimon": b.miimon,
                "members": list(b.members),
            }
            for b in host.bonds
        },
        "bridges": _bridges(host),
        "vlans": (
            {}
            if host.backend is Backend.OVS
            else {v.name: {"id": v.id, "parent": v.device.name} for v in host.vlans}
        ),
        "default_routes": _routes(host),
        "dns": [str(s) for s in host.dns.servers],
        "agent": dict(agent_settings(host)),
    }


@cache
def program() -> bytes:
    """The on-host program's source, as installed in the package."""
    return resources.files("cloudbr.verify").joinpath("onhost.py").read_bytes()


@cache
def comparison() -> bytes:
    """The comparison module the program imports (`cloudbr_drift`), as installed."""
    return Path(cloudbr_drift.__file__).read_bytes()


def render(host: Host) -> FileMap:
    text = jsondump.dumps(plan(host), indent=1)
    return {
        PLAN_PATH: File.text(text, renderer=NAME, role=Role.VERIFY_PLAN),
        PROGRAM_PATH: File(program(), 0o755, NAME, Role.PROGRAM),
        COMPARISON_PATH: File(comparison(), 0o644, NAME, Role.PROGRAM),
    }
