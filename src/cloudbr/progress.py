"""A progress bar for `cloudbr render` on a terminal; nothing at all otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Small inventories render in well under a second: a bar would only flicker.
MIN_ITEMS = 10


def wanted(count: int, quiet: bool) -> bool:
    return not quiet and count >= MIN_ITEMS and sys.stderr.isatty()


def track(items: Sequence[T], quiet: bool, what: str = "rendering") -> Iterator[T]:
    """Yield `items`, drawing a bar on stderr when it is a terminal (and not quiet)."""
    if not wanted(len(items), quiet):
        yield from items
        return
    # Imported here: rich costs ~0.1 s to import, which pipes and -q never need.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(what, total=len(items))
        for item in items:
            yield item
            bar.advance(task)
