"""`cloudbr render -j N`: hosts rendered and staged by forked workers give the very bytes,
modes and tree of a single-process render, and the workers really are other processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import inventory
from cloudbr import cli, parallel, pipeline
from cloudbr.files import FileMap
from cloudbr.model import Host

HOSTS = 12  # every distro x backend twice


@pytest.fixture(autouse=True)
def small_inventories_fork_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_HOSTS_PER_JOB", 2)
    monkeypatch.setattr(parallel, "CHUNK", 2)


def _tree(root: Path) -> dict[str, tuple[int, bytes | str]]:
    out: dict[str, tuple[int, bytes | str]] = {}
    for p in sorted(root.rglob("*")):
        mode = p.lstat().st_mode
        content: bytes | str = (
            p.read_bytes() if stat.S_ISREG(mode) else os.readlink(p) if p.is_symlink() else ""
        )
        out[str(p.relative_to(root))] = (mode, content)
    return out


def test_two_workers_write_what_one_process_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = inventory.write(tmp_path / "inventory.yaml", HOSTS)
    one, two = tmp_path / "one", tmp_path / "two"
    assert cli.main(["render", str(inv), "-o", str(one), "-j", "1"]) == 0
    summary_one = capsys.readouterr().out.replace(str(one), "OUT")

    # Each worker's first host waits for the other worker's: two processes render at once.
    both = multiprocessing.get_context("fork").Barrier(2)
    pids = tmp_path / "pids"
    pids.mkdir()

    render = pipeline.render_host

    def recording(host: Host) -> FileMap:
        mine = pids / str(os.getpid())
        if not mine.exists():
            mine.mkdir()
            both.wait(timeout=60)
        (mine / host.hostname).touch()
        return render(host)

    # `render` takes the pipeline's function when it runs (check never imports it).
    monkeypatch.setattr(pipeline, "render_host", recording)
    assert cli.main(["render", str(inv), "-o", str(two), "-j", "2"]) == 0
    assert capsys.readouterr().out.replace(str(two), "OUT") == summary_one
    workers = list(pids.iterdir())
    assert len(workers) == 2
    assert str(os.getpid()) not in {w.name for w in workers}
    assert sum(len(list(w.iterdir())) for w in workers) == HOSTS  # each host rendered once
    a, b = _tree(one), _tree(two)
    assert len(a) > 20 * HOSTS
    assert a == b


def test_a_worker_error_is_the_renders_error_and_out_stays_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = inventory.write(tmp_path / "inventory.yaml", HOSTS)
    out = tmp_path / "out"
    assert cli.main(["render", str(inv), "-o", str(out), "-q", "-j", "2"]) == 0
    before = _tree(out)
    last = f"kvm{HOSTS - 1:05d}"
    render = pipeline.render_host

    def broken(host: Host) -> FileMap:
        if host.hostname == last:
            raise OSError(28, "No space left on device", "somewhere")
        return render(host)

    monkeypatch.setattr(pipeline, "render_host", broken)
    assert cli.main(["render", str(inv), "-o", str(out), "-q", "-j", "2"]) == 3
    assert capsys.readouterr().err.endswith("cloudbr: somewhere: No space left on device\n")
    assert _tree(out) == before  # no host swapped, no stage left behind


def _render_in_own_session(inv: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cloudbr", "render", str(inv), "-o", str(out), "-q", "-j", "2"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env={**os.environ, "CLOUDBR_UNSAFE_IO": "1"},
    )


def _staging(out: Path, proc: subprocess.Popen[str]) -> bool:
    """Wait until the workers have staged a few hosts (so a signal lands mid-render)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(out.glob(".cloudbr-stage-*/kvm*"))) >= 8:
            return True
        time.sleep(0.005)
    return False


def _gone(pgid: int, seconds: float = 10) -> bool:
    """No process of the render's session is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("how", ["ctrl-c", "kill-9"])
def test_an_interrupted_parallel_render_stops_every_worker_and_frees_out(
    tmp_path: Path, how: str
) -> None:
    """Ctrl-C reaches the whole process group: the parent stops its workers and exits 130 in
    one line (a multiprocessing pool could hang here on a queue lock a worker died holding,
    with OUT's lock kept by workers it forked again). kill -9 of the parent takes its
    workers with it. Either way the next render runs at once and is whole."""
    inv = inventory.write(tmp_path / "inventory.yaml", 120)
    out = tmp_path / "out"
    proc = _render_in_own_session(inv, out)
    assert _staging(out, proc)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert _gone(proc.pid)
    if how == "ctrl-c":
        assert proc.returncode == 130
        assert err.splitlines()[-1] == "cloudbr: interrupted"
        assert "Traceback" not in err
        assert not list(out.glob(".cloudbr-stage-*"))
    again = _render_in_own_session(inv, out)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0
    assert "waiting for another render" not in err
    hosts = [f"kvm{i:05d}" for i in range(120)]
    assert sorted(p.name for p in out.iterdir()) == ["_preseed", *hosts]  # no stage left
