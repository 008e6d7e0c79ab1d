"""The e2e extra check that runs cloudbr-verify and injects drift, checked without booting:
the generated wrapper is valid bash, carries each script unchanged and runs them in order."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from .cloudbr_cases import FIRSTBOOT_RERUN, VERIFY_DRIFT, extra_check


def test_wrapper_carries_both_scripts_verbatim(tmp_path: Path) -> None:
    script = extra_check(tmp_path, "h", firstboot_rerun=True)
    text = script.read_text()
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    bodies = re.findall(r"<<'CLOUDBR_EOF'\n(.*?)\nCLOUDBR_EOF\n", text, re.S)
    assert bodies == [
        FIRSTBOOT_RERUN.read_text().rstrip("\n"),
        VERIFY_DRIFT.read_text().rstrip("\n"),
    ]
    assert text.index("bash /run/cloudbr-e2e/rerun.sh") < text.index("verify-drift.py || fail=1")
    assert "export CLOUDBR_E2E_RESOLVER_STANDIN=1" in text
    ast.parse(VERIFY_DRIFT.read_text())


def test_wrapper_without_rerun_or_standin(tmp_path: Path) -> None:
    text = extra_check(tmp_path, "h", firstboot_rerun=False, resolver_standin=False).read_text()
    assert "rerun.sh" not in text
    assert "export CLOUDBR_E2E_RESOLVER_STANDIN=1" not in text
    # The wrapper fails when a script fails: each one's status is collected, then returned.
    fake = tmp_path / "fake"
    fake.write_text(
        text.replace("/usr/bin/python3 /run/cloudbr-e2e/verify-drift.py", "false").replace(
            "/run/cloudbr-e2e", str(tmp_path / "run")
        )
    )
    out = subprocess.run(["bash", str(fake)], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr


def test_runner_table_sums_verify_results(tmp_path: Path) -> None:
    from .__main__ import table, verify_summary
    from .harness import ScenarioResult

    def boot(detail: str) -> dict[str, object]:
        return {"checks": [{"name": "extra-check", "ok": True, "detail": detail}]}

    res = ScenarioResult(
        "pair", True, 30.0, 40.0, None,
        {
            "a": [boot("x\nVERIFY-SUMMARY no-drift 4/4 drift-named 3/3"), boot("VERIFY-SUMMARY no-drift 1/1 drift-named 0/0")],
            "b": [boot("VERIFY-SUMMARY no-drift 3/4 drift-named 2/3\n")],
        },
        tmp_path,
    )  # fmt: skip
    assert verify_summary(res) == "8/9, 5/6"
    assert table([res]).splitlines()[1].split()[-2:] == ["8/9,", "5/6"]
