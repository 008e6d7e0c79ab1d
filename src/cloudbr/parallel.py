"""`cloudbr render` on every core: forked workers render whole hosts and stage them.

The parent loads the inventory once; each worker, forked after that (the model is shared
copy-on-write, never pickled), renders the hosts it is given by index and stages each one
with the writer (`writer.stage_host`) into the stage directory of the parent's
`writer.write_staged`. Only names and counts come back, in inventory order (`imap` keeps
it), so the parent swaps hosts in the same order as a single-process render, and each tree's
bytes do not depend on which process made them. Memory per process stays one host's files.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cloudbr import writer
from cloudbr.files import FileMap
from cloudbr.model import Host

Render = Callable[[Host], FileMap]
# Below this many hosts per worker, forking costs more than it saves.
MIN_HOSTS_PER_JOB = 32
CHUNK = 8


@dataclass(frozen=True)
class Staged:
    name: str
    rootfs_files: int
    artifacts: list[str]  # the tree's paths outside rootfs/, sorted


# Set in the parent before the workers fork; they inherit it.
_WORK: tuple[Sequence[Host], Render] | None = None


def default_jobs() -> int:
    return len(os.sched_getaffinity(0))


def _stage_one(stage: Path, host: Host, render: Render) -> Staged:
    files = render(host)
    writer.stage_host(stage, host.hostname, files)
    extra = sorted(p for p in files if not p.startswith("rootfs/"))
    return Staged(host.hostname, len(files) - len(extra), extra)


def _work(task: tuple[Path, int]) -> Staged:
    assert _WORK is not None, "worker started without its hosts"
    hosts, render = _WORK
    stage, i = task
    return _stage_one(stage, hosts[i], render)


class Stager:
    """Forks its workers on entry (before any thread starts, e.g. a progress bar's);
    `stage(stage_dir)` yields each host once it is staged, in inventory order."""

    def __init__(self, hosts: Sequence[Host], render: Render, jobs: int) -> None:
        self.hosts, self.render = hosts, render
        self.jobs = jobs if jobs > 1 and len(hosts) >= MIN_HOSTS_PER_JOB * jobs else 1
        self._pool: multiprocessing.pool.Pool | None = None

    def __enter__(self) -> Stager:
        global _WORK
        if self.jobs > 1:
            _WORK = (self.hosts, self.render)
            try:
                self._pool = multiprocessing.get_context("fork").Pool(self.jobs)
            finally:
                _WORK = None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pool is not None:
            # Workers are stopped and reaped here, so none writes into a stage after this.
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def stage(self, stage: Path) -> Iterator[Staged]:
        if self._pool is None:
            for host in self.hosts:
                yield _stage_one(stage, host, self.render)
            return
        tasks = ((stage, i) for i in range(len(self.hosts)))
        yield from self._pool.imap(_work, tasks, chunksize=CHUNK)
