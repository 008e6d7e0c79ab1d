"""`cloudbr render` on every core: forked workers render whole hosts and stage them.

The parent loads the inventory once; each worker, forked after that (the model is shared
copy-on-write, never pickled), renders its share of the hosts and stages each one with the
writer (`writer.stage_host`) into the stage directory of the parent's `writer.write_staged`.
The shares interleave by chunks of `CHUNK` hosts (worker k takes chunks k, k+N, ...), and only
names and counts come back, each worker on a pipe of its own, which the parent reads chunk by
chunk in inventory order: it swaps hosts in the order of a single-process render, and a
tree's bytes do not depend on which process made it. Memory per process stays one host's
files.

No pool, queue or lock is shared: a worker ignores SIGINT (Ctrl-C reaches the whole process
group; the parent answers it), dies with its parent (PR_SET_PDEATHSIG), and is stopped with
SIGKILL and reaped before the parent removes the stage or releases OUT's lock. So an
interrupt can neither leave a worker writing into a stage nor hang the parent on a lock a
dead worker held, and no worker is ever forked again once the lock is taken.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import traceback
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
_FRAME = struct.Struct("!Q")  # length of each pickled message on a worker's pipe
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Staged:
    name: str
    rootfs_files: int
    artifacts: list[str]  # the tree's paths outside rootfs/, sorted


class WorkerError(RuntimeError):
    """A worker ended without its result (killed, or an error that does not pickle)."""


def default_jobs() -> int:
    return len(os.sched_getaffinity(0))


def _stage_one(stage: Path, host: Host, render: Render) -> Staged:
    files = render(host)
    writer.stage_host(stage, host.hostname, files)
    extra = sorted(p for p in files if not p.startswith("rootfs/"))
    return Staged(host.hostname, len(files) - len(extra), extra)


def _chunks(count: int) -> range:
    return range(0, count, CHUNK)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        part = os.read(fd, left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _send(fd: int, message: object) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _FRAME.pack(len(data)) + data)


def _receive(fd: int) -> object | None:
    head = _read_exactly(fd, _FRAME.size)
    if head is None:
        return None
    body = _read_exactly(fd, _FRAME.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _die_with(parent: int) -> None:
    """SIGKILL this worker when its parent dies (a `kill -9` of the render)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the prctl
        os._exit(1)


def _error_message(exc: BaseException) -> tuple[str, object]:
    """The worker's exception as it pickles, its traceback as a note for the parent's file."""
    exc.add_note("in a render worker:\n" + "".join(traceback.format_exception(exc)))
    try:
        pickle.dumps(exc)
        return ("error", exc)
    except Exception:
        return ("error", WorkerError(f"{type(exc).__name__}: {exc}"))


def _serve(
    k: int, jobs: int, hosts: Sequence[Host], render: Render, tasks: int, results: int
) -> None:
    """A worker's life: wait for the stage, stage chunk k, k+jobs, ..., report each one."""
    message = _receive(tasks)
    if not isinstance(message, str):
        return
    stage = Path(message)
    for start in _chunks(len(hosts))[k::jobs]:
        try:
            done = [_stage_one(stage, h, render) for h in hosts[start : start + CHUNK]]
        except BaseException as exc:
            _send(results, _error_message(exc))
            return
        _send(results, ("ok", done))


def _worker_main(
    k: int, jobs: int, hosts: Sequence[Host], render: Render, fds: tuple[int, int]
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _serve(k, jobs, hosts, render, *fds)
    except BaseException:  # the parent is gone (EPIPE) or stopped us: nothing to tell
        os._exit(1)
    os._exit(0)


@dataclass
class _Worker:
    pid: int
    tasks: int  # the parent's end of the pipe the stage path goes down
    results: int  # the parent's end of the pipe the worker reports on


def _fork_worker(
    k: int, jobs: int, hosts: Sequence[Host], render: Render, forked: Sequence[_Worker]
) -> _Worker:
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        for fd in (task_w, result_r, *(fd for w in forked for fd in (w.tasks, w.results))):
            os.close(fd)  # the parent's ends: a pipe whose reader is gone must say EPIPE
        _die_with(parent)
        _worker_main(k, jobs, hosts, render, (task_r, result_w))
    os.close(task_r)
    os.close(result_w)
    return _Worker(pid, task_w, result_r)


class Stager:
    """Forks its workers on entry (before OUT's lock is taken and before any thread starts,
    e.g. a progress bar's); `stage(stage_dir)` yields each host once it is staged, in
    inventory order. Leaving the `with` (or the `stage` generator) stops every worker."""

    def __init__(self, hosts: Sequence[Host], render: Render, jobs: int) -> None:
        self.hosts, self.render = hosts, render
        self.jobs = jobs if jobs > 1 and len(hosts) >= MIN_HOSTS_PER_JOB * jobs else 1
        self._workers: list[_Worker] = []

    def __enter__(self) -> Stager:
        if self.jobs > 1:
            try:
                for k in range(self.jobs):
                    worker = _fork_worker(k, self.jobs, self.hosts, self.render, self._workers)
                    self._workers.append(worker)
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Kill and reap every worker: none writes into a stage after this returns."""
        for w in self._workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.pid, signal.SIGKILL)
        for w in self._workers:
            os.waitpid(w.pid, 0)
            os.close(w.tasks)
            os.close(w.results)
        self._workers = []

    def stage(self, stage: Path) -> Iterator[Staged]:
        if not self._workers:
            for host in self.hosts:
                yield _stage_one(stage, host, self.render)
            return
        try:
            for w in self._workers:
                _send(w.tasks, os.fspath(stage))
            for n in range(len(_chunks(len(self.hosts)))):
                yield from self._result(self._workers[n % len(self._workers)])
        finally:
            self.stop()

    @staticmethod
    def _result(w: _Worker) -> list[Staged]:
        message = _receive(w.results)
        if not isinstance(message, tuple):
            raise WorkerError(f"render worker {w.pid} ended without its result")
        kind, value = message
        if kind == "error":
            assert isinstance(value, BaseException)
            raise value
        assert isinstance(value, list)
        return value
