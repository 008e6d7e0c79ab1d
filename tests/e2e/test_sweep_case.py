"""The e2e sweep case's verdict: it passes only when the test passed AND interrupted the
program after every step (a sampled run, a skip or a failure is a FAIL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.sweep_case import sweep_checks


def junit(tmp_path: Path, stopped: str, outcome: str = "") -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(
        '<testsuites><testsuite><testcase name="t"><properties>'
        '<property name="steps" value="4"/>'
        f'<property name="interrupted_after" value="{stopped}"/>'
        f"</properties>{outcome}</testcase></testsuite></testsuites>"
    )
    return path


def test_every_step_passed_is_a_pass(tmp_path: Path) -> None:
    assert all(c["ok"] for c in sweep_checks(junit(tmp_path, "1,2,3,4")))


@pytest.mark.parametrize(
    ("stopped", "outcome"),
    [("1,2,4", ""), ("1,2,3,4", '<failure message="x"/>'), ("1,2,3,4", "<skipped/>")],
    ids=["sampled", "failed", "skipped"],
)
def test_a_sample_a_failure_or_a_skip_fails(tmp_path: Path, stopped: str, outcome: str) -> None:
    assert not all(c["ok"] for c in sweep_checks(junit(tmp_path, stopped, outcome)))
