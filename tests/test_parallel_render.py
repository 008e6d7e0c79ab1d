"""`cloudbr render -j N`: hosts rendered and staged by forked workers give the very bytes,
modes and tree of a single-process render, and the workers really are other processes."""

from __future__ import annotations

import multiprocessing
import os
import stat
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
