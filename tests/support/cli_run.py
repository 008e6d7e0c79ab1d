"""`cloudbr ARGS` run in this process: exit status, stdout and stderr as a subprocess would
give them, without the 0.3 s start-up of a new interpreter (tests/test_cli.py keeps the real
`python -m cloudbr` entry point covered)."""

from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout

from cloudbr import cli


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["cloudbr", *args], code, out.getvalue(), err.getvalue())
