"""`python -m tests.e2e [-k SUBSTR]... [--list]`: run scenarios and print a summary table."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .cases import harness_scenarios
from .cloudbr_cases import cloudbr_scenarios, e2e_out_dir
from .dib_image import DibImage, ensure_images
from .harness import GuestImage, ScenarioResult, run_scenario
from .image import BaseImage
from .pxe_case import pxe_scenarios
from .sweep_case import sweep_scenarios


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


VERIFY = re.compile(r"VERIFY-SUMMARY no-drift (\d+)/(\d+) drift-named (\d+)/(\d+)")


def verify_summary(res: ScenarioResult) -> str:
    """cloudbr-verify runs over every host and boot: "no drift" passes, injected drifts named."""
    totals = [0, 0, 0, 0]
    for boots in res.results.values():
        for boot in boots:
            for check in boot.get("checks", []):
                if check["name"] == "extra-check":
                    for m in VERIFY.finditer(str(check["detail"])):
                        totals = [t + int(g) for t, g in zip(totals, m.groups(), strict=True)]
    if not totals[1]:
        return "-"
    return f"{totals[0]}/{totals[1]}, {totals[2]}/{totals[3]}"


def table(results: list[ScenarioResult]) -> str:
    head = ("case", "result", "networked s", "checked s", "outage ms", "detect ms (2x miimon)")
    rows = [(*head, "verify clean, drift")]
    rows += [
        (
            r.name,
            "PASS" if r.ok else "FAIL",
            _fmt(r.networked_s),
            _fmt(r.result_s),
            _fmt(r.outage_ms, 0),
            "-" if r.detection is None else r.detection.cell(),
            verify_summary(r),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def guests(scenario: Any) -> int:
    """QEMU guests the scenario runs at once (the PXE and sweep cases say so themselves)."""
    return int(getattr(scenario, "guests", len(scenario.hosts)))


def _run_one(scenario: Any, image: BaseImage | None) -> ScenarioResult:
    t1 = time.monotonic()
    # A scenario with its own run() (the PXE case) boots its own guest and servers.
    run = getattr(scenario, "run", None)
    res: ScenarioResult = run() if run is not None else run_scenario(scenario, image)
    verdict = "PASS" if res.ok else "FAIL"
    print(f"e2e: {scenario.name}: {verdict} in {time.monotonic() - t1:.0f}s ({res.workdir})")
    _print_failures(res)
    return res


def _print_failures(res: ScenarioResult) -> None:
    for line in res.failures():
        print(f"    {line}")


def _run_all(scenarios: list[Any], image: BaseImage | None, rebuild: bool) -> list[ScenarioResult]:
    """Every scenario, in the listed order but for one overlap: the images built from
    elements/ (minutes of mostly one core) are built while the scenarios that keep one core
    free run (one guest or none, no DIB image); the rest start once the images are ready."""
    dib = [h.image for s in scenarios for h in s.hosts if isinstance(h.image, DibImage)]
    light = [s for s in scenarios if guests(s) <= 1 and not any(h.image for h in s.hosts)]
    first = light if dib else []
    with ThreadPoolExecutor(max_workers=1) as pool:
        build = pool.submit(ensure_images, dib, rebuild=rebuild)
        done = {id(s): _run_one(s, image) for s in first}
        for name, secs in build.result().items():
            state = "cached" if secs is None else f"built in {secs:.0f}s"
            print(f"e2e: DIB image {name} {state}", flush=True)
        done |= {id(s): _run_one(s, image) for s in scenarios if id(s) not in done}
    return [done[id(s)] for s in scenarios]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.e2e", description=__doc__)
    ap.add_argument(
        "-k", dest="patterns", action="append", help="only scenarios containing this (repeatable)"
    )
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    ap.add_argument(
        "--rebuild-image", action="store_true", help="rebuild the guest (and DIB) images"
    )
    ap.add_argument(
        "--harness",
        action="store_true",
        help="also run the harness's own scenarios on hand-written fixtures",
    )
    args = ap.parse_args(argv)
    # SIGTERM -> SystemExit, so context managers reap QEMU and the switches.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    patterns = args.patterns or [""]
    # cloudbr's own output for tests/e2e/inventory.yaml is what `make e2e` proves.
    candidates: list[Any] = [*cloudbr_scenarios(e2e_out_dir()), *pxe_scenarios()]
    candidates += sweep_scenarios()  # no guest: the first-boot interrupt sweep, every step
    if args.harness:
        candidates += harness_scenarios()
    scenarios = [s for s in candidates if any(p in s.name for p in patterns)]
    if args.list:
        print("\n".join(s.name for s in scenarios))
        return 0
    t0 = time.monotonic()
    image: BaseImage | None = None
    if any(h.image is None for s in scenarios for h in s.hosts):
        guest_image = image = GuestImage.ensure(rebuild=args.rebuild_image)
        print(
            f"e2e: image {guest_image.directory} ready in {time.monotonic() - t0:.0f}s", flush=True
        )
    results = _run_all(scenarios, image, args.rebuild_image)
    print()
    print(table(results))
    # Again after the table: CI keeps only the end of a long log.
    for res in results:
        if not res.ok:
            print(f"\n{res.name}: FAIL ({res.workdir})")
            _print_failures(res)
    failed = sum(not r.ok for r in results)
    print(f"\ne2e: total {time.monotonic() - t0:.0f}s")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
