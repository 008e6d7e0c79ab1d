"""Measurements: a command's wall time and peak RSS (in a child process of its own, so one
size's peak cannot hide another's), and per-module render cost inside this process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloudbr import render
from cloudbr.carriers import carriers_for, cloudinit
from cloudbr.carriers import seed_iso as seed_iso_carrier
from cloudbr.files import FileMap
from cloudbr.iso import build_iso
from cloudbr.model import Host


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_kib: int  # the largest single process of the tree (workers included)
    cpu_seconds: float  # user + system of the process and every worker it waited for


def run(argv: Sequence[str]) -> Run:
    """Wall time, peak RSS (ru_maxrss is in KiB on Linux) and CPU of one child process.
    Its stderr goes to a file: a pipe read only after the exit would fill (64 KiB) and
    block the child for good (10,000 hosts print more warnings than that)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-4000:].decode(errors="replace")
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return Run(seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)


def filesystem(path: Path) -> str:
    """The type of the filesystem `path` is on (/proc/self/mounts: the longest mount prefix)."""
    best, kind = "", "?"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mount, fstype, *_ = line.split()
        if path.resolve().is_relative_to(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


def inode_cost_us(directory: Path, count: int = 2000) -> float:
    """Microseconds to create one directory holding one small file, under `directory`: the
    part of writing a tree that is the filesystem's, not cloudbr's."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        start = time.perf_counter()
        for i in range(count):
            d = os.path.join(tmp, str(i))
            os.mkdir(d)
            fd = os.open(os.path.join(d, "f"), os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"x" * 512)
            os.close(fd)
        return (time.perf_counter() - start) / (2 * count) * 1e6


def cloudbr(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudbr", *args]


def _name(fn: Callable[..., object]) -> str:
    return fn.__module__.removeprefix("cloudbr.")


def module_costs(hosts: Sequence[Host]) -> dict[str, float]:
    """Seconds spent in each renderer and carrier over all hosts; the seed ISO carrier is
    split into its cloud-init documents and the ISO mastering."""
    costs: dict[str, float] = defaultdict(float)
    clock = time.perf_counter
    for host in hosts:
        tree: FileMap = {}
        for renderer in render.renderers_for(host):
            t = clock()
            tree.update(renderer(host))
            costs[_name(renderer)] += clock() - t
        for carrier in carriers_for(host):
            if carrier is seed_iso_carrier.render:
                t = clock()
                files = cloudinit.seed(host, tree).files()
                t2 = clock()
                build_iso(files, label=seed_iso_carrier.LABEL)
                costs["seed-iso: cloud-init documents"] += t2 - t
                costs["seed-iso: ISO mastering (pycdlib)"] += clock() - t2
                continue
            t = clock()
            carrier(host, tree)
            costs[_name(carrier)] += clock() - t
    return dict(costs)


@dataclass(frozen=True)
class IsoCost:
    hosts: int
    cloudbr_ms: float
    localds_ms: float

    @property
    def ratio(self) -> float:
        return self.localds_ms / self.cloudbr_ms


LOCALDS_DOCUMENTS = ("user-data", "meta-data", "network-config")  # all cloud-localds can pack


def _localds(d: Path) -> list[str | Path]:
    network: list[str | Path] = (
        ["-N", d / "network-config"] if (d / "network-config").exists() else []
    )
    return ["cloud-localds", *network, d / "seed.iso", d / "user-data", d / "meta-data"]


def iso_cost(hosts: Sequence[Host], workdir: Path) -> IsoCost:
    """Per-host cost of our ISO against cloud-localds packing the very same documents (the
    seed's shared programs, which cloud-localds cannot pack, are left out of both).
    Both sides start from documents already in hand: for cloud-localds they are on disk
    (it cannot take them any other way), for us in memory."""
    seeds = [
        {
            k: v
            for k, v in cloudinit.seed(h, render.rootfs(h)).files().items()
            if k in LOCALDS_DOCUMENTS
        }
        for h in hosts
    ]
    t = time.perf_counter()
    for files in seeds:
        build_iso(files, label=seed_iso_carrier.LABEL)
    ours = (time.perf_counter() - t) / len(seeds)

    dirs = []
    for i, files in enumerate(seeds):
        d = workdir / f"localds-{i}"
        d.mkdir()
        for name, data in files.items():
            (d / name).write_bytes(data)
        dirs.append(d)
    t = time.perf_counter()
    for d in dirs:
        subprocess.run(_localds(d), check=True, stdout=subprocess.DEVNULL)
    theirs = (time.perf_counter() - t) / len(dirs)
    return IsoCost(len(seeds), ours * 1000, theirs * 1000)
