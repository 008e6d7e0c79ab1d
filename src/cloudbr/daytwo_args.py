"""The day-two subcommands' arguments, apart from their code (cloudbr.daytwo), so that building
the parser loads no renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
