"""`python -m bench`: time, CPU and peak memory of `cloudbr check` and `cloudbr render` (on
every core) on generated inventories of 1,000 and 10,000 hosts, where the render time goes,
and the per-host cost of a seed ISO against cloud-localds. Exits 1 when a target is missed."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import inventory, measure
from cloudbr.inventory import load_inventory
from cloudbr.model import Host

RENDER_SECONDS_TARGET = 10.0  # the largest size, full render (trees, documents, ISOs, written)
CHECK_SECONDS_TARGET = 3.0  # the largest size, `cloudbr check`
PROFILE_HOSTS = 1000  # the in-process per-module profile samples this many hosts
ISO_RATIO_TARGET = 30.0  # cloud-localds / our ISO, per host
# Render's peak memory beyond `check` (which holds the model) may grow by this much per host:
# allocator noise, not one host's files kept after they are written.
GROWTH_KIB_PER_HOST = 8.0
TMPFS = Path("/dev/shm")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--sizes", default="1000,10000", help="host counts (default %(default)s)")
    p.add_argument("--localds-hosts", type=int, default=100, help="hosts for the ISO comparison")
    p.add_argument("--keep", type=Path, help="keep inventories and output under this directory")
    p.add_argument(
        "--out-dir",
        type=Path,
        default=TMPFS if TMPFS.is_dir() else None,
        help="where the timed renders write (default %(default)s: memory, so the targets time "
        "cloudbr and not this disk's inode allocation; the largest size is also rendered to "
        "the work directory's disk and reported beside it)",
    )
    args = p.parse_args(argv)
    if len(set(args.sizes.split(","))) < 2:
        p.error("--sizes: two host counts at least (memory growth is measured between them)")
    return args


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    print()


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if not shutil.which("cloud-localds"):
        print(
            "bench: cloud-localds missing (make deps installs cloud-image-utils)", file=sys.stderr
        )
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="cloudbr-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="cloudbr-bench-out-", dir=args.out_dir or work))
    try:
        return _bench(sizes, args.localds_hosts, work, out)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def _render(inv: Path, out: Path) -> tuple[measure.Run, int]:
    """The render's run, and the KiB its output takes (a hard-linked file counted once)."""
    try:
        run = measure.run(measure.cloudbr("render", str(inv), "-o", str(out), "-q"))
        du = subprocess.run(["du", "-sk", str(out)], capture_output=True, text=True, check=True)
        return run, int(du.stdout.split()[0])
    finally:
        shutil.rmtree(out, ignore_errors=True)  # 10,000 hosts are ~2.4 GB


def _where(path: Path) -> str:
    fs = measure.filesystem(path)
    return f"{path} ({fs}, {measure.inode_cost_us(path):.0f} us per inode created)"


Results = dict[int, tuple[measure.Run, measure.Run, int]]  # hosts -> (check, render, KiB out)


def _sizes(sizes: list[int], work: Path, out: Path) -> Results:
    results = {}
    for n in sizes:
        inv = inventory.write(work / f"inventory-{n}.yaml", n)
        check = measure.run(measure.cloudbr("check", str(inv)))
        results[n] = (check, *_render(inv, out / f"out-{n}"))
    headers = "hosts,check s,check CPU s,check MiB,render s,render CPU s,cores,render MiB,out MiB"
    rows = [
        [
            str(n),
            f"{c.seconds:.2f}",
            f"{c.cpu_seconds:.2f}",
            _mib(c.peak_rss_kib),
            f"{r.seconds:.2f}",
            f"{r.cpu_seconds:.2f}",
            f"{r.cpu_seconds / r.seconds:.2f}",
            _mib(r.peak_rss_kib),
            _mib(written),
            f"{n / r.seconds:.0f}",
            _mib(r.peak_rss_kib - c.peak_rss_kib),
        ]
        for n, (c, r, written) in results.items()
    ]
    _table([*headers.split(","), "hosts/s", "render-check MiB"], rows)
    return results


def _memory_growth(results: Results, small: int, large: int) -> float:
    """KiB per host that render's peak grows beyond check's (which holds the model)."""
    span = large - small
    model_kib = (results[large][0].peak_rss_kib - results[small][0].peak_rss_kib) / span
    extra = [r.peak_rss_kib - c.peak_rss_kib for c, r, _ in (results[small], results[large])]
    growth_kib = (extra[1] - extra[0]) / span
    print(
        f"Memory per host, {small} -> {large} hosts: model (check) {model_kib:.1f} KiB, "
        f"render beyond the model {growth_kib:.1f} KiB\n"
    )
    return growth_kib


def _profile(hosts: Sequence[Host]) -> None:
    costs = measure.module_costs(hosts)
    total = sum(costs.values())
    print(f"Where an in-process render of {len(hosts)} hosts spends its time (no writing):")
    _table(
        ["module", "s", "share", "ms/host"],
        [
            [name, f"{s:.2f}", f"{100 * s / total:.0f}%", f"{1000 * s / len(hosts):.2f}"]
            for name, s in sorted(costs.items(), key=lambda kv: -kv[1])
        ],
    )


def _iso_ratio(hosts: Sequence[Host], work: Path) -> float:
    iso = measure.iso_cost(hosts, work)
    print(f"Seed ISO per host ({iso.hosts} hosts, same files):")
    _table(
        ["builder", "ms/host"],
        [
            ["cloudbr (pycdlib, in-process)", f"{iso.cloudbr_ms:.2f}"],
            ["cloud-localds", f"{iso.localds_ms:.2f}"],
        ],
    )
    return iso.ratio


def _bench(sizes: list[int], localds_hosts: int, work: Path, out: Path) -> int:
    base = measure.run([sys.executable, "-c", "import cloudbr.cli, cloudbr.pipeline"])
    print(f"Interpreter with cloudbr imported: peak {_mib(base.peak_rss_kib)} MiB")
    print(f"Timed renders write to {_where(out)}\n")
    results = _sizes(sizes, work, out)
    small, large = sizes[0], sizes[-1]
    if measure.filesystem(work) != measure.filesystem(out):
        disk, _ = _render(work / f"inventory-{large}.yaml", work / "out-disk")
        print(
            f"The same render of {large} hosts to {_where(work)}: {disk.seconds:.2f} s, "
            f"{disk.cpu_seconds:.2f} CPU s\n"
        )
    growth_kib = _memory_growth(results, small, large)
    hosts = load_inventory(work / f"inventory-{large}.yaml").hosts[:PROFILE_HOSTS]
    _profile(hosts)
    ratio = _iso_ratio(hosts[:localds_hosts], work)
    render_s, check_s = results[large][1].seconds, results[large][0].seconds
    verdicts = [
        (
            f"full render of {large} hosts <= {RENDER_SECONDS_TARGET:.0f} s",
            render_s <= RENDER_SECONDS_TARGET,
            f"{render_s:.2f} s",
        ),
        (
            f"check of {large} hosts <= {CHECK_SECONDS_TARGET:.0f} s",
            check_s <= CHECK_SECONDS_TARGET,
            f"{check_s:.2f} s",
        ),
        (
            f"seed ISO >= {ISO_RATIO_TARGET:.0f}x cheaper than cloud-localds",
            ratio >= ISO_RATIO_TARGET,
            f"{ratio:.0f}x",
        ),
        (
            f"render memory beyond the model <= {GROWTH_KIB_PER_HOST:.0f} KiB/host",
            growth_kib <= GROWTH_KIB_PER_HOST,
            f"{growth_kib:.1f} KiB/host",
        ),
    ]
    _table(
        ["target", "result", "value"], [[t, "PASS" if ok else "FAIL", v] for t, ok, v in verdicts]
    )
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
