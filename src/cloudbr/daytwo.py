"""Day-two subcommands: `verify`, `diff`, `zone` and `diagram` (wired into cloudbr.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cloudbr import diagram, diff, zone
from cloudbr.inventory import InventoryError
from cloudbr.model import Host, Inventory
from cloudbr.pipeline import site_trees
from cloudbr.render import verify as plan_renderer
from cloudbr.verify import onhost
from cloudbr.writer import write_file

COMMANDS = ("verify", "diff", "zone", "diagram")


def add_parsers(sub: Any) -> None:
    v = sub.add_parser("verify", help="compare a host's dumped state with its plan")
    v.add_argument("inventory", type=Path)
    v.add_argument("--host", required=True, metavar="NAME")
    v.add_argument(
        "--state", required=True, type=Path, help="from `cloudbr-verify --dump-state FILE`"
    )
    v.add_argument("--json", action="store_true", help="machine-readable report")
    d = sub.add_parser("diff", help="what `render` would change in OUT (exit 1: changes)")
    d.add_argument("inventory", type=Path)
    d.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    d.add_argument("--host", action="append", default=[], metavar="NAME", help="only this host")
    z = sub.add_parser("zone", help="CloudMonkey commands: traffic labels and add host")
    z.add_argument("inventory", type=Path)
    g = sub.add_parser("diagram", help="draw a host's topology as SVG (graphviz)")
    g.add_argument("inventory", type=Path)
    g.add_argument("--host", required=True, metavar="NAME")
    g.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.svg")


def _host(inv: Inventory, name: str) -> Host:
    try:
        return inv.host(name)
    except KeyError:
        raise InventoryError([f"{inv.source}: no host named {name!r}"]) from None


def _verify(inv: Inventory, args: argparse.Namespace) -> int:
    host = _host(inv, args.host)
    try:
        state = json.loads(args.state.read_text())
        drift = onhost.compare(plan_renderer.plan(host), state)
    except (OSError, ValueError, onhost.StateError) as exc:
        print(f"cloudbr: cannot read the state {args.state}: {exc}", file=sys.stderr)
        return onhost.EXIT_STATE
    print(onhost.report(host.fqdn, drift, args.json))
    return onhost.EXIT_DRIFT if drift else onhost.EXIT_OK


def _diff(inv: Inventory, args: argparse.Namespace) -> int:
    hosts = [_host(inv, n) for n in args.host] if args.host else list(inv.hosts)
    results = diff.diff_trees(args.output, hosts, site_trees(inv), only=bool(args.host))
    sys.stdout.write(diff.report(results))
    return 1 if any(r.state != "same" for r in results) else 0


def _diagram(inv: Inventory, args: argparse.Namespace) -> int:
    host = _host(inv, args.host)
    try:
        image = diagram.svg(host)
    except diagram.DiagramError as exc:
        print(f"cloudbr: {exc}", file=sys.stderr)
        return 1
    write_file(args.output, image)
    return 0


def run(inv: Inventory, args: argparse.Namespace) -> int:
    if args.command == "verify":
        return _verify(inv, args)
    if args.command == "diff":
        return _diff(inv, args)
    if args.command == "zone":
        sys.stdout.write(zone.script(inv))
        return 0
    return _diagram(inv, args)
