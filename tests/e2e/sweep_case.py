"""The OVS first-boot interrupt sweep, whole: `make unit` interrupts the program after a few
sampled steps (tests/test_ovs_firstboot.py); this case runs the same test with
CLOUDBR_FIRSTBOOT_SWEEP=all, so the program is stopped after every one of its steps and each
rerun must converge on the uninterrupted result. No guest: a private ovsdb-server and the
fake kernel, as in the unit test, but every step instead of a sample.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import ScenarioResult, _write_report

REPO = Path(__file__).resolve().parents[2]
TEST = "tests/test_ovs_firstboot.py::test_interrupted_after_sampled_steps_converges_on_rerun"
TIMEOUT_S = 1800


def sweep_checks(junit: Path) -> list[dict[str, Any]]:
    """The run's junit report: the one test passed and it interrupted after every step."""
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    if len(cases) != 1:
        return [{"name": "sweep-ran", "ok": False, "detail": f"{len(cases)} test cases"}]
    case = cases[0]
    bad = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    steps, stopped = props.get("steps"), props.get("interrupted_after")
    every = steps is not None and stopped == ",".join(map(str, range(1, int(steps) + 1)))
    return [
        {"name": "sweep-passed", "ok": not bad, "detail": bad or "passed"},
        {"name": "every-step", "ok": every, "detail": f"{steps} steps, stopped after {stopped}"},
    ]


@dataclass
class SweepScenario:
    name: str = "cloudbr-ovs-firstboot-sweep"
    hosts: list[Any] = field(default_factory=list)  # no guests
    guests: int = 0

    def run(self) -> ScenarioResult:
        base = Path(os.environ.get("CLOUDBR_E2E_WORKDIR", tempfile.gettempdir())) / "cloudbr-e2e"
        base.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=base))
        junit = workdir / "junit.xml"
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        argv += [f"--junitxml={junit}", TEST]
        env = {**os.environ, "CLOUDBR_FIRSTBOOT_SWEEP": "all"}
        t0 = time.monotonic()
        error = None
        with (workdir / "pytest.log").open("w") as log:
            try:
                proc = subprocess.run(
                    argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=TIMEOUT_S
                )
                if proc.returncode != 0:
                    error = f"pytest exit {proc.returncode}: see {workdir / 'pytest.log'}"
            except subprocess.TimeoutExpired:
                error = f"no result within {TIMEOUT_S}s"
        checks = sweep_checks(junit) if junit.exists() else []
        res = ScenarioResult(
            name=self.name,
            ok=error is None and bool(checks) and all(c["ok"] for c in checks),
            networked_s=None,
            result_s=time.monotonic() - t0,
            outage_ms=None,
            results={"sweep": [{"ok": error is None, "checks": checks}]},
            workdir=workdir,
            error=error,
        )
        _write_report(res)
        return res


def sweep_scenarios() -> list[SweepScenario]:
    return [SweepScenario()]
