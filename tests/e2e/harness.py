"""Public API of the e2e harness: a case is "a rootfs dir (or seed ISO) + expectations".

    image = GuestImage.ensure()
    result = run_scenario(Scenario("lb", [HostCase("a", rootfs=Path("OUT/a/rootfs"),
                                                   expect={...})]), image)

A HostCase may boot its own base image instead (`image=`, any BaseImage, e.g. a DibImage
built from elements/ by scripts/build-image.sh; then only a seed ISO can configure it).

Topology of every scenario: eth0+eth1 of all hosts on switch "mgmt", eth2+eth3 on switch
"public"; every switch port is a trunk (untagged + VLAN 100 tagged).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dib_image import DibImage, ensure_images
from .guest import Guest, GuestError, Message, Nic, default_macs
from .image import BaseImage, GuestImage
from .vde import SwitchPort, VdeSwitch

__all__ = [
    "BaseImage",
    "Detection",
    "DibImage",
    "Guest",
    "GuestError",
    "GuestImage",
    "HostCase",
    "Message",
    "Nic",
    "Scenario",
    "ScenarioResult",
    "SwitchPort",
    "VdeSwitch",
    "default_macs",
    "make_seed_iso",
    "run_scenario",
]

BOOT_TIMEOUT_S = 300.0
MAX_GUESTS = 2  # 2 cores, ~0.8 GiB and one busy core per TCG guest
TRUNK_VLANS = (100,)


@dataclass
class HostCase:
    """One guest: what to inject and what to expect (keys: see guest/check.py)."""

    name: str
    rootfs: Path | None = None
    seed_iso: Path | None = None
    seed_dir: Path | None = None  # user-data, meta-data[, network-config] -> seed ISO
    expect: dict[str, Any] = field(default_factory=dict)
    failover: dict[str, Any] | None = None
    check_script: Path | None = None
    macs: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)  # wait_s, wait_cloud_init, ...
    image: BaseImage | None = None  # None: the scenario's image (the harness's own)


@dataclass
class Scenario:
    name: str
    hosts: list[HostCase]
    power_cycles: int = 0  # extra boots on the same overlays, each checked again
    boot_timeout_s: float = BOOT_TIMEOUT_S


@dataclass(frozen=True)
class Detection:
    """Worst failover detection time over a scenario's boots, on the guest's own clock."""

    ms: float | None  # None: not measured (the failover result says why)
    target_ms: float  # 2 x miimon
    ok: bool

    @classmethod
    def worst(cls, boots: list[dict[str, Any]]) -> Detection | None:
        found = [b["failover"]["detection"] for b in boots if "detection" in b.get("failover", {})]
        if not found:
            return None
        ok = all(d.get("ok") for d in found)
        measured = [d["ms"] for d in found if d.get("ms") is not None]
        target = max(float(d.get("target_ms") or 0) for d in found)
        return cls(max(measured) if measured else None, target, ok and len(measured) == len(found))

    def cell(self) -> str:
        value = "-" if self.ms is None else f"{self.ms:.0f}"
        return f"{value} <= {self.target_ms:.0f} {'PASS' if self.ok else 'FAIL'}"


@dataclass
class ScenarioResult:
    name: str
    ok: bool
    networked_s: float | None  # slowest host, first boot, QEMU start -> addresses up
    result_s: float | None  # slowest host, first boot, QEMU start -> checks reported
    outage_ms: float | None
    results: dict[str, list[dict[str, Any]]]  # host -> one result per boot
    workdir: Path
    error: str | None = None
    # The guest's own failover detection (carrier loss -> new active member), worst boot.
    detection: Detection | None = None

    def failures(self) -> list[str]:
        out = [self.error] if self.error else []
        for host, boots in self.results.items():
            for n, res in enumerate(boots, 1):
                out += [
                    f"{host} boot {n}: {c['name']}: {json.dumps(c['detail'])[:300]}"
                    for c in res.get("checks", [])
                    if not c["ok"]
                ]
        return out


def run_scenario(
    scenario: Scenario, image: BaseImage | None = None, workdir: Path | None = None
) -> ScenarioResult:
    """Boot every host (at once: at most 2 per scenario on this 2-core budget), run the
    checks, drive any failover, power-cycle if asked, and always reap QEMU."""
    if not 1 <= len(scenario.hosts) <= MAX_GUESTS:
        raise ValueError(f"{scenario.name}: 1..{MAX_GUESTS} hosts per scenario")
    # Images the hosts bring themselves: built now if not cached (no-op otherwise).
    ensure_images(h.image for h in scenario.hosts if isinstance(h.image, DibImage))
    if image is None and any(h.image is None for h in scenario.hosts):
        image = GuestImage.ensure()
    if workdir is None:
        base = Path(os.environ.get("CLOUDBR_E2E_WORKDIR", tempfile.gettempdir())) / "cloudbr-e2e"
        base.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{scenario.name}-", dir=base))
    results: dict[str, list[dict[str, Any]]] = {h.name: [] for h in scenario.hosts}
    # A lone guest powers itself off after reporting (the production path of check.py);
    # with peers or more boots to come, the harness stops QEMU itself.
    lone = len(scenario.hosts) == 1 and not scenario.power_cycles
    outage: float | None = None
    error: str | None = None
    with contextlib.ExitStack() as stack:
        mgmt = stack.enter_context(VdeSwitch(workdir, "mgmt", vlans=TRUNK_VLANS))
        public = stack.enter_context(VdeSwitch(workdir, "public", vlans=TRUNK_VLANS))
        guests: list[Guest] = []
        try:
            for n, host in enumerate(scenario.hosts):
                own = host.image or image
                assert own is not None  # ensured above
                guest = _guest(own, workdir, n, host, (mgmt, public), lone)
                guests.append(stack.enter_context(guest))
            for boot in range(scenario.power_cycles + 1):
                if boot:
                    for g in guests:
                        g.power_cycle()
                for g, host in zip(guests, scenario.hosts, strict=True):
                    if host.failover:
                        outage = _drive_failover(g, scenario.boot_timeout_s)
                for g in guests:
                    results[g.name].append(g.wait_result(scenario.boot_timeout_s))
        except GuestError as exc:
            error = str(exc)
        if lone and not error and not guests[0].wait_exit(60):
            error = f"{guests[0].name}: did not power itself off within 60s"
    ok = error is None and all(r.get("ok") for boots in results.values() for r in boots)
    first = [boots[0]["host"] for boots in results.values() if boots]
    res = ScenarioResult(
        name=scenario.name,
        ok=ok,
        networked_s=_max([h["networked_s"] for h in first]),
        result_s=_max([h["result_s"] for h in first]),
        outage_ms=outage,
        detection=_detection(scenario, results),
        results=results,
        workdir=workdir,
        error=error,
    )
    _write_report(res)
    return res


@contextlib.contextmanager
def _guest(
    image: BaseImage,
    workdir: Path,
    n: int,
    host: HostCase,
    switches: tuple[VdeSwitch, VdeSwitch],
    poweroff: bool,
) -> Iterator[Guest]:
    macs = host.macs or default_macs(n + 1)
    mgmt, public = switches
    links = [mgmt.port(), mgmt.port(), public.port(), public.port()]
    case = {"expect": host.expect, "failover": host.failover, "poweroff": poweroff}
    case.update(host.options)
    seed = host.seed_iso
    if host.seed_dir is not None:
        seed = make_seed_iso(host.seed_dir, workdir / f"{host.name}-seed.iso")
    guest = Guest(
        image,
        host.name,
        workdir,
        [Nic(mac, link) for mac, link in zip(macs, links, strict=True)],
        rootfs=host.rootfs,
        case=case,
        check_script=host.check_script,
        seed_iso=seed,
    )
    with guest:
        yield guest


def make_seed_iso(src: Path, out: Path) -> Path:
    """A NoCloud seed ISO (volume id `cidata`) holding the files of `src`."""
    argv = ["xorriso", "-as", "mkisofs", "-quiet", "-o", str(out), "-V", "cidata", "-J", "-r"]
    subprocess.run([*argv, str(src)], check=True, timeout=60, capture_output=True)
    return out


def _drive_failover(guest: Guest, timeout: float) -> float | None:
    """Wait until the guest's fast ping runs, then drop carrier on its active member."""
    armed = guest.wait_event("failover-armed", timeout)
    nic = int(armed.data["nic"])
    guest.set_link(nic, False)
    try:
        result = guest.wait_result(timeout)
    finally:
        if guest.running:
            guest.set_link(nic, True)
    fo = result.get("failover", {})
    value = fo.get("outage_ms")
    return float(value) if value is not None else None


def _detection(scenario: Scenario, results: dict[str, list[dict[str, Any]]]) -> Detection | None:
    """Every boot of every host that drove a failover must have measured its detection."""
    boots = [b for h in scenario.hosts if h.failover for b in results.get(h.name, [])]
    return Detection.worst(boots) if boots else None


def _max(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return max(real) if real else None


def _write_report(res: ScenarioResult) -> None:
    report = {
        "name": res.name,
        "ok": res.ok,
        "networked_s": res.networked_s,
        "result_s": res.result_s,
        "outage_ms": res.outage_ms,
        "detection": None if res.detection is None else res.detection.__dict__,
        "error": res.error,
        "results": res.results,
    }
    (res.workdir / "report.json").write_text(json.dumps(report, indent=1))
    # Overlays are the only big files; logs and the report stay for debugging.
    if os.environ.get("CLOUDBR_E2E_KEEP") != "1":
        for overlay in res.workdir.glob("*/overlay.qcow2"):
            overlay.unlink()
    for tmp in res.workdir.glob("*.ctl"):
        shutil.rmtree(tmp, ignore_errors=True)
