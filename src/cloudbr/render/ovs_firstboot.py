"""Open vSwitch first boot: one static program (the same bytes on every host, baked into the
DIB image by elements/cloudbr-ovs) that builds the OVS topology with `ovs-vsctl --may-exist`,
moves the host's addresses onto its bridges and rolls back if a gateway that answered before
the change stops answering; a per-host plan file (data: one step per line of fixed verbs and
validated words, which the program parses strictly and never evaluates); and the unit that
runs the program on the plan at every boot (a no-op once converged).

The plan's steps come from cloudbr.topology.ovs_plan; this module only writes them out.
"""

from __future__ import annotations

from functools import cache

from cloudbr import templates, topology
from cloudbr.files import HEADER, File, FileMap, Role
from cloudbr.model import Host
from cloudbr.platforms import platform

NAME = "ovs-firstboot"
UNIT = "cloudbr-ovs-firstboot.service"
SCRIPT = "/usr/local/sbin/cloudbr-ovs-firstboot"
PLAN = "/etc/cloudbr/ovs-firstboot.plan"
FORMAT = "cloudbr-ovs-plan 1"
# The program's one source: the DIB element's static file (the image bakes it as it is).
PROGRAM_SOURCE = "elements/cloudbr-ovs/static/usr/local/sbin/cloudbr-ovs-firstboot"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
IDENT = "cloudbr-ovs-firstboot"
# Reachability deadline (30 s) plus generous room for ovs-vsctl waiting on ovs-vswitchd.
TIMEOUT_SECONDS = 600


def program() -> bytes:
    """The one first-boot program, byte for byte the file the DIB element bakes."""
    return _program()


@cache
def _program() -> bytes:
    return (templates.image_root() / PROGRAM_SOURCE).read_bytes()


def _words(host: Host, step: topology.Step) -> list[str]:
    match step:
        case topology.WantBridge(name):
            return ["bridge", name]
        case topology.WantVlanBridge(name, parent, tag):
            return ["vlan-bridge", name, parent, str(tag)]
        case topology.WantPort(bridge, port, ifaces, options):
            opts = ["--", *(f"{k}={v}" for k, v in options)] if options else []
            return ["port", bridge, port, *ifaces, *opts]
        case topology.WantMtu(iface, mtu):
            return ["mtu", iface, str(mtu)]
        case topology.WantLinkUp(dev):
            return ["link-up", dev]
        case topology.WantAddress(dev, cidr):
            return ["address", dev, str(cidr)]
        case topology.WantRoute(family, dev, gateway):
            return ["route", str(family), dev, str(gateway)]
        case topology.WantAddressOnlyOn(dev, cidr):
            return ["address-only-on", dev, str(cidr)]
        case topology.WantNoAddress(dev):
            return ["no-address", dev]
        case topology.WantDns(link, servers, search):
            return [
                "dns",
                platform(host).resolver.value,
                link,
                *servers,
                *(["--", *search] if search else []),
            ]


def plan_text(host: Host) -> str:
    """The host's plan: data for the program (one step per line), never code."""
    lines = [
        "# cloudbr OVS first-boot plan; run by /usr/local/sbin/cloudbr-ovs-firstboot.",
        HEADER.rstrip("\n"),
        FORMAT,
        f"owner {host.hostname}",
    ]
    if target := topology.reach_target(host):
        lines.append(f"reach {target}")
    lines += [" ".join(_words(host, step)) for step in topology.ovs_plan(host)]
    lines.append("end")
    return "\n".join(lines)


def unit(host: Host) -> str:
    return templates.render(
        "firstboot/cloudbr-ovs-firstboot.service.j2",
        hostname=host.hostname,
        ovs_service=platform(host).ovs_service,
        network_services=" ".join(platform(host).network_units),
        script=f"{SCRIPT} {PLAN}",
        ident=IDENT,
        timeout=TIMEOUT_SECONDS,
        unit=UNIT,
    )


def render(host: Host) -> FileMap:
    return {
        SCRIPT: File(program(), 0o755, NAME, Role.SHARED_PROGRAM),
        PLAN: File.text(plan_text(host), renderer=NAME, role=Role.FIRSTBOOT_PLAN),
        UNIT_PATH: File.text(unit(host), renderer=NAME, role=Role.UNIT),
    }
