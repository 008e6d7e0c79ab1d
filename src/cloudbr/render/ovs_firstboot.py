"""Open vSwitch first boot: a per-host script and systemd unit that build the OVS topology
with `ovs-vsctl --may-exist`, move the host address onto its bridge and roll back if the
gateway stops answering. The fixed logic lives in firstboot/cloudbr-ovs-firstboot.sh.j2; this
module only writes the host's desired state as quoted calls of that script's functions.
"""

from __future__ import annotations

import shlex

from cloudbr import templates
from cloudbr.files import File, FileMap, Role
from cloudbr.model import Bridge, Host
from cloudbr.platforms import ovs_bond_options, platform
from cloudbr.topology import bridge_mtu, nic_mtu, port_nics, reach_target

NAME = "ovs-firstboot"
UNIT = "cloudbr-ovs-firstboot.service"
SCRIPT = "/usr/local/sbin/cloudbr-ovs-firstboot"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
IDENT = "cloudbr-ovs-firstboot"
# Reachability deadline (30 s) plus generous room for ovs-vsctl waiting on ovs-vswitchd.
TIMEOUT_SECONDS = 600


def _call(*words: str) -> str:
    return "    " + " ".join(shlex.quote(w) for w in words)


def _uplink_call(host: Host, bridge: Bridge) -> str | None:
    uplink = bridge.uplink
    if uplink is None:
        return None
    if uplink.is_bond:
        bond = host.bond(uplink.name)
        opts = [f"{k}={v}" for k, v in ovs_bond_options(host, bond)]
        return _call("want_port", bridge.name, bond.name, *bond.members, "--", *opts)
    return _call("want_port", bridge.name, uplink.name, uplink.name)


def plan_lines(host: Host) -> list[str]:
    """Calls in dependency order: bridges, ports, VLAN bridges, MTUs, links, new addresses,
    routes, then the removal of addresses from where they were."""
    lines = [_call("want_bridge", b.name) for b in host.plain_bridges]
    lines += [c for b in host.plain_bridges if (c := _uplink_call(host, b))]
    for b in host.bridges:
        if b.vlan is not None and b.vlan.parent_bridge is not None:
            lines.append(_call("want_vlan_bridge", b.name, b.vlan.parent_bridge, str(b.vlan.id)))
    nics = port_nics(host)
    for nic in nics:
        if mtu := nic_mtu(host, nic):
            lines.append(_call("want_mtu", nic, str(mtu)))
    lines += [_call("want_mtu", b.name, str(m)) for b in host.bridges if (m := bridge_mtu(host, b))]
    lines += [_call("want_link_up", dev) for dev in (*nics, *(b.name for b in host.bridges))]
    addrs = [(b.name, str(a)) for b in host.bridges for a in b.addresses]
    lines += [_call("want_address", br, a) for br, a in addrs]
    # Routes move before the old addresses go, so the kernel never drops one on its own.
    for b in host.bridges:
        if b.gateway4:
            lines.append(_call("want_route", "4", b.name, str(b.gateway4)))
        if b.gateway6:
            lines.append(_call("want_route", "6", b.name, str(b.gateway6)))
    lines += [_call("want_address_only_on", br, a) for br, a in addrs]
    lines += [_call("want_no_address", nic) for nic in nics]
    return lines


def host_section(host: Host) -> str:
    return "\n".join(
        [
            f"OWNER={shlex.quote(host.hostname)}",
            f"REACH_TARGET={shlex.quote(reach_target(host))}",
            "",
            "plan() {",
            *plan_lines(host),
            "}",
        ]
    )


def script(host: Host) -> str:
    return templates.render(
        "firstboot/cloudbr-ovs-firstboot.sh.j2", host_section=host_section(host)
    )


def unit(host: Host) -> str:
    return templates.render(
        "firstboot/cloudbr-ovs-firstboot.service.j2",
        hostname=host.hostname,
        ovs_service=platform(host).ovs_service,
        network_services=" ".join(platform(host).network_units),
        script=SCRIPT,
        ident=IDENT,
        timeout=TIMEOUT_SECONDS,
        unit=UNIT,
    )


def render(host: Host) -> FileMap:
    return {
        SCRIPT: File.text(script(host), mode=0o755, renderer=NAME, role=Role.PROGRAM),
        UNIT_PATH: File.text(unit(host), renderer=NAME, role=Role.UNIT),
    }
