"""Scenarios on what `cloudbr render` makes for tests/e2e/inventory.yaml.

Expectations are derived from the resolved model (the inventory), never from the rendered
files: the guest must end up with the bonds, bridges, VLANs and addresses the operator
described, whatever the files say.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cloudbr.carriers.embed import units_to_enable
from cloudbr.inventory import load_inventory
from cloudbr.model import Backend, Host, Inventory
from cloudbr.pipeline import render_host
from cloudbr.platforms import platform
from cloudbr.render import rootfs as render_rootfs
from cloudbr.writer import write_tree

from .dib_image import DibImage
from .harness import HostCase, Scenario

HERE = Path(__file__).resolve().parent
INVENTORY = HERE / "inventory.yaml"
FIRSTBOOT_RERUN = HERE / "guest" / "firstboot-rerun.sh"
VERIFY_DRIFT = HERE / "guest" / "verify-drift.py"
VERIFY_BOOT_TIMEOUT_S = 420.0
WANTS = "etc/systemd/system/multi-user.target.wants"


def render(out: Path) -> Inventory:
    """Render every e2e host into out/<host>/ with the real CLI pipeline and writer."""
    inv = load_inventory(INVENTORY)
    write_tree(out, ((h.hostname, render_host(h)) for h in inv.hosts))
    return inv


def enable_units(rootfs: Path, host: Host) -> None:
    """What every carrier does after laying the tree down: `systemctl enable` the units of
    the host's tree (its Role.UNIT files)."""
    for unit in units_to_enable(render_rootfs(host)):
        link = rootfs / WANTS / unit
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(f"/etc/systemd/system/{unit}")


# The links `systemctl enable` makes for a platform's services, laid into a case's rootfs:
# the harness image keeps NetworkManager disabled (it must not touch the ifupdown, netplan
# and OVS cases), and the EL cases enable it as the kickstart's `services --enabled` does.
# Test stand-in: EL names Open vSwitch's unit openvswitch.service, Debian (this guest)
# openvswitch-switch.service (enabled in the image); the alias lets the EL units run here.
SERVICE_LINKS: dict[str, tuple[tuple[str, str], ...]] = {
    "NetworkManager": (
        (f"{WANTS}/NetworkManager.service", "/lib/systemd/system/NetworkManager.service"),
        (
            "etc/systemd/system/network-online.target.wants/NetworkManager-wait-online.service",
            "/lib/systemd/system/NetworkManager-wait-online.service",
        ),
        (
            "etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service",
            "/lib/systemd/system/NetworkManager-dispatcher.service",
        ),
    ),
    "openvswitch": (
        (
            "etc/systemd/system/openvswitch.service",
            "/lib/systemd/system/openvswitch-switch.service",
        ),
    ),
}


def enable_services(rootfs: Path, host: Host) -> None:
    """The platform's services to enable (an unknown name is a KeyError: add its links)."""
    for service in platform(host).enable(host.backend):
        for rel, target in SERVICE_LINKS[service]:
            link = rootfs / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(target)


def expect_for(host: Host, peers: list[Host]) -> dict[str, Any]:
    """What the guest must show, from the model of `host`; pings go to every peer bridge IP."""
    addresses = {b.name: [str(a) for a in b.ipv4] for b in host.bridges if b.ipv4}
    expect: dict[str, Any] = {"addresses": addresses, "no_failed_units": True}
    if not host.ipv6:
        expect["no_ipv6"] = sorted(
            {n.name for n in host.nics}
            | {b.name for b in host.bridges}
            | {v.name for v in host.vlans if host.backend is Backend.LINUXBRIDGE}
        )
    gw = host.primary_bridge.gateway4
    if gw:
        expect["default_route"] = {"via": str(gw), "dev": host.primary_bridge.name}
    if host.backend is Backend.LINUXBRIDGE:
        expect["links_up"] = [b.name for b in host.bonds] + [b.name for b in host.bridges]
        expect["bonds"] = {
            b.name: {
                "mode": b.mode.value,
                "miimon": b.miimon,
                "slaves": list(b.members),
                **({"active": b.primary} if b.primary else {}),
            }
            for b in host.bonds
        }
        expect["bridges"] = {b.name: {"ports": [b.uplink.name]} for b in host.bridges if b.uplink}
        expect["vlans"] = {v.name: {"id": v.id, "link": v.device.name} for v in host.vlans}
    else:
        expect["ovs_bridges"] = [b.name for b in host.bridges]
        expect["ovs_fake_bridges"] = {
            b.name: {"parent": b.vlan.parent_bridge, "vlan": b.vlan.id}
            for b in host.bridges
            if b.vlan is not None
        }
        expect["ovs_bonds"] = {
            b.name: {"bond_mode": b.mode.value, "miimon": b.miimon, "members": list(b.members)}
            for b in host.bonds
        }
    pings = []
    for peer in peers:
        for bridge in peer.bridges:
            pings += [{"dst": str(a.ip), "timeout_s": 120} for a in bridge.ipv4]
    if pings:
        expect["ping"] = pings
    return expect


def _case(
    out: Path,
    host: Host,
    peers: list[Host],
    *,
    drop: tuple[str, ...] = (),
    seed: bool = False,
    failover: bool = False,
    firstboot_rerun: bool = False,
    resolver_standin: bool = True,
) -> HostCase:
    macs = [n.mac for n in host.nics if n.mac]
    case = HostCase(name=host.hostname, expect=expect_for(host, peers), macs=macs or None)
    netplan_tree = (out / host.hostname / "rootfs" / "etc" / "netplan").is_dir()
    if host.backend is Backend.LINUXBRIDGE and (seed or netplan_tree):
        # Test-image artifact: the e2e guest carries openvswitch-switch for the OVS cases, so
        # netplan adds its OVS cleanup unit (ConditionFileIsExecutable=/usr/bin/ovs-vsctl,
        # TimeoutStartSec=10s), which fails with no OVS config or times out under TCG load.
        # A linux-bridge host has no OVS installed, so the unit never runs there.
        case.expect["failed_allowed"] = ["netplan-ovs-cleanup.service"]
    if seed:
        case.seed_iso = out / host.hostname / "seed.iso"
        case.options["wait_cloud_init"] = True
    else:
        rootfs = out / "cases" / f"{host.hostname}-{len(list(out.glob('cases/*')))}"
        shutil.copytree(out / host.hostname / "rootfs", rootfs, symlinks=True)
        for rel in drop:
            (rootfs / rel).unlink()
        enable_units(rootfs, host)
        enable_services(rootfs, host)
        case.rootfs = rootfs
    if failover and peers:
        case.failover = failover_spec(host, peers[0])
    case.check_script = extra_check(out, host.hostname, firstboot_rerun, resolver_standin)
    case.options["extra_check_timeout_s"] = 240
    # Bounds, not durations: a loaded 2-core machine has had OVS guests networked at ~300 s.
    case.options["wait_s"] = 300
    return case


def failover_spec(host: Host, peer: Host) -> dict[str, Any]:
    """A HostCase.failover for `host`'s first bond, pinging `peer`'s primary address: the
    harness drops the active member's link, the guest reports the ping outage and its own
    detection time (guest/detect.py) against 2 x the model's miimon."""
    bond = host.bonds[0]
    return {
        "dst": str(peer.primary_bridge.ipv4[0].ip),
        "bond": bond.name,
        "miimon": bond.miimon,
        "interval": 0.01,
        "duration_s": 6,
        **({"ovs": True} if host.backend is Backend.OVS else {}),
    }


def extra_check(
    out: Path,
    name: str,
    firstboot_rerun: bool,
    resolver_standin: bool = True,
    known_drift: tuple[tuple[str, str], ...] = (),
) -> Path:
    """The guest's extra check: the first-boot re-run (OVS cases that ask for it), then
    cloudbr-verify with drift injection. The harness ships one script, so this one carries
    both (quoted heredocs: nothing in them is expanded). `resolver_standin`: the harness
    image lacks the resolver package an installed host has (verify-drift.py says more)."""
    parts = [("rerun.sh", "bash", FIRSTBOOT_RERUN)] if firstboot_rerun else []
    parts.append(("verify-drift.py", "/usr/bin/python3", VERIFY_DRIFT))
    lines = ["#!/bin/bash", "fail=0", "mkdir -p /run/cloudbr-e2e"]
    lines += ["export CLOUDBR_E2E_RESOLVER_STANDIN=1"] if resolver_standin else []
    if known_drift:
        known = ";".join(f"{subject}|{what}" for subject, what in known_drift)
        lines.append(f"export CLOUDBR_E2E_KNOWN_DRIFT={shlex.quote(known)}")
    for file, interpreter, src in parts:
        body = src.read_text()
        assert "\nCLOUDBR_EOF\n" not in body
        lines += [f"cat >/run/cloudbr-e2e/{file} <<'CLOUDBR_EOF'", body.rstrip("\n"), "CLOUDBR_EOF"]
        lines += [f"echo '== {file}'", f"{interpreter} /run/cloudbr-e2e/{file} || fail=1"]
    script = out / "cases" / f"{name}-extra-check"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("\n".join([*lines, 'exit "$fail"', ""]))
    return script


def cloudbr_scenarios(out: Path) -> list[Scenario]:
    inv = render(out)
    h = {x.hostname: x for x in inv.hosts}

    def pair(a: str, b: str, **kw: Any) -> list[HostCase]:
        return [_case(out, h[a], [h[b]], **kw), _case(out, h[b], [h[a]], **kw)]

    scenarios = [
        # 1. linux bridge via the Netplan tree of the ubuntu1804 renderer (netplan + networkd)
        Scenario("cloudbr-lb-netplan", [_case(out, h["e2e-np"], [])]),
        # 2. + 6. + 7. OVS via /etc/network/interfaces: two hosts behind trunk switches,
        # pings across cloudbr0 and the VLAN 100 fake bridge, failover of the active member,
        # then a power cycle, after which everything must come back and first boot re-run
        # must change nothing.
        Scenario(
            "cloudbr-ovs-eni-pair",
            [
                _case(out, h["e2e-ovs-a"], [h["e2e-ovs-b"]], failover=True, firstboot_rerun=True),
                _case(out, h["e2e-ovs-b"], [h["e2e-ovs-a"]], firstboot_rerun=True),
            ],
            power_cycles=1,
        ),
        # 3. OVS via the first-boot script and unit alone (no interfaces file), next to a
        # linux-bridge host that answers its reachability check.
        Scenario(
            "cloudbr-ovs-firstboot",
            [
                _case(
                    out,
                    h["e2e-fb"],
                    [h["e2e-lb-a"]],
                    drop=("etc/network/interfaces",),
                    firstboot_rerun=True,
                ),
                _case(out, h["e2e-lb-a"], [h["e2e-fb"]]),
            ],
        ),
        # 4. + 6. + 7. linux bridge via /etc/network/interfaces (debian12), two hosts,
        # failover, power cycle.
        Scenario(
            "cloudbr-lb-eni-pair",
            [
                _case(out, h["e2e-lb-a"], [h["e2e-lb-b"]], failover=True),
                _case(out, h["e2e-lb-b"], [h["e2e-lb-a"]]),
            ],
            power_cycles=1,
        ),
        # 5. generic guests plus only their seed ISOs (linux bridge: cloud-init renders the
        # network-config v2; OVS: the first-boot unit from user-data builds it).
        Scenario(
            "cloudbr-seed-iso-pair",
            pair("e2e-seed-lb", "e2e-seed-ovs", seed=True),
        ),
        # Issue 15: the netplan-native OVS tree of ubuntu2204 (netplan 0.106 here, as in
        # jammy-updates): two hosts, pings across cloudbr0 and the VLAN 100 fake bridge,
        # failover of the active member, then a power cycle.
        Scenario(
            "cloudbr-ovs-netplan-pair",
            [
                _case(out, h["e2e-npovs-a"], [h["e2e-npovs-b"]], failover=True),
                _case(out, h["e2e-npovs-b"], [h["e2e-npovs-a"]]),
            ],
            power_cycles=1,
        ),
        # Issue 15: the linux-bridge netplan trees of ubuntu2404 and ubuntu2204.
        Scenario("cloudbr-lb-netplan-noble-jammy", pair("e2e-np24", "e2e-np22")),
        # Issue 7: the debian12 images that `make image` builds from elements/ (one per
        # backend, flat layout, plus only the test-only probe that runs check.py), each
        # booted with nothing but its host's seed ISO, pinging each other.
        Scenario("cloudbr-image-pair", image_pair(out, h["e2e-img-lb"], h["e2e-img-ovs"])),
        *el_scenarios(out, h),
    ]
    for scenario in scenarios:
        # A wait bound, not a duration: the verify/drift extra check adds ~20-60 s of TCG time
        # per guest, which a loaded 2-core machine otherwise pushes past the 300 s default.
        scenario.boot_timeout_s = VERIFY_BOOT_TIMEOUT_S
    return scenarios


def el_scenarios(out: Path, h: dict[str, Host]) -> list[Scenario]:
    """Issue 14: EL9 hosts' trees on a Debian 12 guest with NetworkManager 1.42 (EL 9.2 ships
    1.42.2). NetworkManager writes resolv.conf itself: no resolver stand-in."""
    own = {"resolver_standin": False}
    a, b, ovs = h["e2e-el-a"], h["e2e-el-b"], h["e2e-el-ovs"]
    return [
        # linux bridge from keyfiles: two hosts, pings over cloudbr0 and cloudbr100, failover
        # of bond0's active member, power cycle.
        Scenario(
            "cloudbr-el-lb-pair",
            [_case(out, a, [b], failover=True, **own), _case(out, b, [a], **own)],
            power_cycles=1,
        ),
        # OVS built by the first-boot program with NetworkManager running and told to leave
        # the OVS devices alone; next to an EL linux-bridge host.
        Scenario(
            "cloudbr-el-ovs",
            [
                _case(out, ovs, [b], failover=True, firstboot_rerun=True, **own),
                _case(out, b, [ovs], **own),
            ],
        ),
    ]


def image_pair(out: Path, a: Host, b: Host) -> list[HostCase]:
    cases = [_case(out, a, [b], seed=True), _case(out, b, [a], seed=True)]
    for case, host in zip(cases, (a, b), strict=True):
        case.image = DibImage.for_backend(host.distro.value, host.backend.value)
        # No known drift: the OVS first-boot plan's dns step hands the servers to resolvconf
        # itself (the program builds the bridges without ifup, so no ifupdown hook does).
        case.check_script = extra_check(out, host.hostname, False, resolver_standin=False)
        # The e2e guest's netplan-ovs-cleanup artifact cannot happen here (no OVS in a
        # linux-bridge image): every unit must succeed.
        case.expect.pop("failed_allowed", None)
    return cases


def e2e_out_dir() -> Path:
    """A fresh directory per run, so concurrent runs never share rendered trees."""
    base = Path(os.environ.get("CLOUDBR_E2E_WORKDIR", tempfile.gettempdir())) / "cloudbr-e2e"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="rendered-", dir=base)) / "out"
