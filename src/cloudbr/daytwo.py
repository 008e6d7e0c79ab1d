"""Day-two subcommands: `verify`, `diff`, `zone` and `diagram` (their arguments:
cloudbr.daytwo_args; cloudbr.cli imports this module only to run one of them)."""

from __future__ import annotations

import argparse
import sys

import cloudbr_drift
from cloudbr import diagram, diff, zone
from cloudbr.files import Unrenderable
from cloudbr.inventory import InventoryError, at_host
from cloudbr.model import Host, Inventory
from cloudbr.pipeline import site_trees
from cloudbr.render import verify as plan_renderer
from cloudbr.verify import onhost
from cloudbr.writer import write_file


def _host(inv: Inventory, name: str) -> Host:
    try:
        return inv.host(name)
    except KeyError:
        raise InventoryError([f"{inv.source}: no host named {name!r}"]) from None


def _verify(inv: Inventory, args: argparse.Namespace) -> int:
    host = _host(inv, args.host)
    try:  # as strictly as cloudbr-verify reads it on the host
        state = cloudbr_drift.load(str(args.state), cloudbr_drift.STATE_SHAPE, "state")
        drift = cloudbr_drift.compare(plan_renderer.plan(host), state)
    except cloudbr_drift.StateError as exc:
        print(f"cloudbr: cannot read the state: {exc}", file=sys.stderr)
        return onhost.EXIT_STATE
    print(cloudbr_drift.report(host.fqdn, drift, args.json))
    return onhost.EXIT_DRIFT if drift else onhost.EXIT_OK


def _diff(inv: Inventory, args: argparse.Namespace) -> int:
    hosts = [_host(inv, n) for n in args.host] if args.host else list(inv.hosts)
    try:
        results = diff.diff_trees(args.output, hosts, site_trees(inv), only=bool(args.host))
    except Unrenderable as exc:  # as render says it
        raise at_host(inv, exc.hostname, exc.reason) from None
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
