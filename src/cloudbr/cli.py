"""`cloudbr check | render | schema | platforms | image | verify | diff | zone | diagram`:
exit 0 ok, 1 invalid input (verify: drift, diff: changes), 2 usage (verify: unreadable state),
3 internal or environment error (OUT unwritable, disk full, a bug: one line, traceback saved
to a file)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from cloudbr import __version__, daytwo_args, platform_report, platforms, progress
from cloudbr.files import Unrenderable
from cloudbr.inventory import InventoryError, at_host, json_schema, load_inventory
from cloudbr.model import Backend, Host, Inventory
from cloudbr.parallel import Stager, default_jobs
from cloudbr.writer import OutputError, stage_host, write_staged

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
# Platforms that `cloudbr image` builds: rendered, with a DIB build.
IMAGE_DISTROS = sorted(p.id.value for p in platforms.rendered() if p.image is not None)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloudbr", description=__doc__)
    p.add_argument("--version", action="version", version=f"cloudbr {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser("check", help="validate an inventory and list its hosts")
    c.add_argument("inventory", type=Path)
    c.add_argument("--json", action="store_true", help="machine-readable host list")
    r = sub.add_parser("render", help="write every host's files, installer documents and seed ISO")
    r.add_argument("inventory", type=Path)
    r.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    r.add_argument("--host", action="append", default=[], metavar="NAME", help="only this host")
    r.add_argument("-q", "--quiet", action="store_true")
    r.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=default_jobs(),
        metavar="N",
        help="render in N processes (default: the cores available, %(default)s); same output",
    )
    r.add_argument(
        "--prune",
        action="store_true",
        help="remove host directories of OUT whose host is no longer in the inventory",
    )
    sub.add_parser("schema", help="print the inventory JSON Schema")
    pl = sub.add_parser("platforms", help="list the platforms (distros) and how each is rendered")
    pl.add_argument("--json", action="store_true", help="a list of objects, each with an id")
    i = sub.add_parser("image", help="bake a KVM host image with diskimage-builder")
    i.add_argument("distro", choices=IMAGE_DISTROS)
    i.add_argument("backend", choices=[b.value for b in Backend])
    i.add_argument(
        "--layout",
        choices=["partitioned", "flat"],
        default=os.environ.get("IMAGE_LAYOUT", "partitioned"),
        help="partitioned: bootable disk (needs device-mapper); flat: one filesystem",
    )
    i.add_argument("--output-dir", type=Path, default=Path("images"), help="default: ./images")
    i.add_argument("--install-deps", action="store_true", help="apt-get what DIB needs")
    i.add_argument("--check", action="store_true", help="probe mirrors and stop")
    daytwo_args.add_parsers(sub)
    return p


def _summary(host: Host) -> dict[str, object]:
    return {
        "hostname": host.hostname,
        "fqdn": host.fqdn,
        "distro": host.distro.value,
        "backend": host.backend.value,
        "addresses": {b.name: [str(a) for a in b.addresses] for b in host.bridges if b.addresses},
    }


def _check(inv: Inventory, as_json: bool) -> int:
    for h in inv.hosts:
        for warning in platforms.warnings(h):
            print(f"cloudbr: warning: {warning}", file=sys.stderr)
    if as_json:
        print(json.dumps([_summary(h) for h in inv.hosts], indent=2))
        return EXIT_OK
    for h in inv.hosts:
        addrs = " ".join(
            f"{b.name}={','.join(str(a) for a in b.addresses)}" for b in h.bridges if b.addresses
        )
        print(f"{h.fqdn}\t{h.distro.value}\t{h.backend.value}\t{addrs}")
    return EXIT_OK


def _select(inv: Inventory, names: list[str]) -> list[Host]:
    if not names:
        return list(inv.hosts)
    missing = []
    hosts: list[Host] = []
    for name in names:
        try:
            host = inv.host(name)
        except KeyError:
            missing.append(name)
            continue
        if host not in hosts:  # --host a --host a, or a name and its FQDN
            hosts.append(host)
    if missing:
        raise InventoryError([f"{inv.source}: no host named {n!r}" for n in missing])
    return hosts


def _render(inv: Inventory, out: Path, args: argparse.Namespace) -> int:
    # Imported here: `check` never loads the renderers and carriers (0.1-0.4 s measured).
    from cloudbr.pipeline import render_host, site_names, site_trees

    hosts = _select(inv, args.host)
    summary: list[str] = []

    def staged(stager: Stager, stage: Path) -> Iterator[str]:
        for s in progress.track(stager.stage(stage), args.quiet, total=len(hosts)):
            extra = ", ".join(s.artifacts)
            summary.append(f"{out / s.name}: {s.rootfs_files} rootfs files, {extra}")
            yield s.name
        for name, site_files in site_trees(inv):
            stage_host(stage, name, site_files)
            summary.append(f"{out / name}: {len(site_files)} files")
            yield name

    keep = {h.hostname for h in inv.hosts} | site_names(inv) if args.prune else None
    try:
        # The workers fork here, before the writer's lock and any progress bar's thread.
        with Stager(hosts, render_host, args.jobs) as stager:
            removed = write_staged(out, lambda stage: staged(stager, stage), prune=keep)
    except Unrenderable as exc:  # the stage is gone: nothing written
        raise at_host(inv, exc.hostname, exc.reason) from None
    summary += [f"{out / name}: removed (no longer in the inventory)" for name in removed]
    if not args.quiet:
        print("\n".join(summary))
    return EXIT_OK


def _image(args: argparse.Namespace) -> int:
    """Same builder as `make image`; its messages name the variable to set on failure."""
    from cloudbr.templates import image_root  # Jinja2: loaded only by the commands that use it

    script = image_root() / "scripts" / "build-image.sh"
    argv = ["bash", str(script)]
    argv += ["--install-deps"] if args.install_deps else []
    argv += ["--check"] if args.check else []
    env = dict(os.environ, IMAGE_LAYOUT=args.layout, IMAGE_DIR=str(args.output_dir.absolute()))
    return subprocess.run([*argv, args.distro, args.backend], env=env, check=False).returncode


def _command(args: argparse.Namespace) -> int:
    if args.command == "schema":
        sys.stdout.write(json_schema())
        return EXIT_OK
    if args.command == "image":
        return _image(args)
    if args.command == "platforms":
        if args.json:
            print(json.dumps(platform_report.platforms_json(), indent=2))
        else:
            print(platform_report.table())
        return EXIT_OK
    inv = load_inventory(args.inventory)
    # The model lives as long as the process: later collections skip it, and the render
    # workers forked from here keep its pages shared.
    gc.freeze()
    if args.command == "check":
        return _check(inv, args.json)
    if args.command in daytwo_args.COMMANDS:
        from cloudbr import daytwo  # only now: it loads the renderers

        return daytwo.run(inv, args)
    return _render(inv, args.output, args)


def _save_traceback() -> str:
    """Write the current exception's traceback to a file; its path, or why it failed."""
    try:
        fd, path = tempfile.mkstemp(prefix="cloudbr-traceback-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
    except OSError as exc:
        return f"traceback not saved: {exc.strerror}"
    return f"traceback saved to {path}"


def guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command with the exit-code contract: 1 invalid input, 3 environment or bug."""
    try:
        return command(args)
    except InventoryError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        n = len(exc.lines)
        print(f"cloudbr: {n} problem{'s' if n != 1 else ''}; nothing written", file=sys.stderr)
        return EXIT_INVALID
    except OutputError as exc:
        print(f"cloudbr: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cloudbr: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("cloudbr: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        what = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"cloudbr: internal error: {what} ({_save_traceback()})", file=sys.stderr)
        return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    return guarded(_command, _parser().parse_args(argv))


def entry() -> None:
    """The `cloudbr` command (and `python -m cloudbr`): main, then no interpreter teardown.
    Freeing a large inventory's model object by object cost about 0.2 s of `check`'s 3 s
    for 10,000 hosts, and nothing is left to do but flush (the render workers are reaped)."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # stdout closed early (`cloudbr check ... | head`): nothing more to say
        pass
    os._exit(code)
