"""`python -m bench`: time, CPU and peak memory of `cloudbr check` and `cloudbr render` (on
every core) on generated inventories of 1,000 and 10,000 hosts, where the render time goes,
and the per-host cost of a seed ISO against cloud-localds. Exits 1 when a target is missed."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench import inventory, measure
from cloudbr.inventory import load_inventory

RENDER_SECONDS_TARGET = 10.0  # the largest size, full render (trees, documents, ISOs, written)
CHECK_SECONDS_TARGET = 3.0  # the largest size, `cloudbr check`
PROFILE_HOSTS = 1000  # the in-process per-module profile samples this many hosts
ISO_RATIO_TARGET = 30.0  # cloud-localds / our ISO, per host
# Render's peak memory beyond `check` (which holds the model) may grow by this much per host:
# allocator noise, not one host's files kept after they are written.
GROWTH_KIB_PER_HOST = 8.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--sizes", default="1000,10000", help="host counts (default %(default)s)")
    p.add_argument("--localds-hosts", type=int, default=100, help="hosts for the ISO comparison")
    p.add_argument("--keep", type=Path, help="keep inventories and output under this directory")
    return p.parse_args(argv)


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
    try:
        return _bench(sizes, args.localds_hosts, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _bench(sizes: list[int], localds_hosts: int, work: Path) -> int:
    base = measure.run([sys.executable, "-c", "import cloudbr.cli, cloudbr.pipeline"])
    print(f"Interpreter with cloudbr imported: peak {_mib(base.peak_rss_kib)} MiB\n")

    results = {}
    for n in sizes:
        inv = inventory.write(work / f"inventory-{n}.yaml", n)
        check = measure.run(measure.cloudbr("check", str(inv)))
        rendered = measure.run(
            measure.cloudbr("render", str(inv), "-o", str(work / f"out-{n}"), "-q")
        )
        results[n] = (check, rendered)
    _table(
        [
            "hosts",
            "check s",
            "check CPU s",
            "check MiB",
            "render s",
            "render CPU s",
            "cores",
            "render MiB",
            "hosts/s",
            "render-check MiB",
        ],
        [
            [
                str(n),
                f"{c.seconds:.2f}",
                f"{c.cpu_seconds:.2f}",
                _mib(c.peak_rss_kib),
                f"{r.seconds:.2f}",
                f"{r.cpu_seconds:.2f}",
                f"{r.cpu_seconds / r.seconds:.2f}",
                _mib(r.peak_rss_kib),
                f"{n / r.seconds:.0f}",
                _mib(r.peak_rss_kib - c.peak_rss_kib),
            ]
            for n, (c, r) in results.items()
        ],
    )

    small, large = sizes[0], sizes[-1]
    span = large - small
    model_kib = (results[large][0].peak_rss_kib - results[small][0].peak_rss_kib) / span
    extra = [r.peak_rss_kib - c.peak_rss_kib for c, r in (results[small], results[large])]
    growth_kib = (extra[1] - extra[0]) / span
    print(
        f"Memory per host, {small} -> {large} hosts: model (check) {model_kib:.1f} KiB, "
        f"render beyond the model {growth_kib:.1f} KiB\n"
    )

    hosts = load_inventory(work / f"inventory-{large}.yaml").hosts[:PROFILE_HOSTS]
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

    iso = measure.iso_cost(hosts[:localds_hosts], work)
    print(f"Seed ISO per host ({iso.hosts} hosts, same three files):")
    _table(
        ["builder", "ms/host"],
        [
            ["cloudbr (pycdlib, in-process)", f"{iso.cloudbr_ms:.2f}"],
            ["cloud-localds", f"{iso.localds_ms:.2f}"],
        ],
    )

    render_s = results[large][1].seconds
    check_s = results[large][0].seconds
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
            iso.ratio >= ISO_RATIO_TARGET,
            f"{iso.ratio:.0f}x",
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
