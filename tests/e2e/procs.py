"""Child processes that can never outlive the harness (QEMU, vde_switch, vde_plug)."""

from __future__ import annotations

import atexit
import ctypes
import signal
import subprocess
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
# Loaded up front: the forked child (preexec_fn) should only make the call, not dlopen.
_LIBC = ctypes.CDLL(None, use_errno=True)
_live: set[subprocess.Popen[bytes]] = set()


def _die_with_parent() -> None:
    # SIGKILL the child if the harness dies (even by SIGKILL). Note: "parent" is the thread
    # that forked, so spawn from a thread that lives as long as the child (the main one).
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    argv: list[str],
    log: Path | None = None,
    stdin: int | IO[bytes] | None = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    out: int | IO[bytes] = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
    finally:
        if not isinstance(out, int):
            out.close()
    _live.add(proc)
    return proc


def stop(proc: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """Terminate, then kill after `grace` seconds; always reaps."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()  # vde_switch's stdin pipe
    _live.discard(proc)


@atexit.register
def _reap_all() -> None:
    for proc in list(_live):
        stop(proc, grace=1.0)
