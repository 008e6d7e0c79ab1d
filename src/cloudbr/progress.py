"""A progress bar for `cloudbr render` on a terminal; nothing at all otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

T = TypeVar("T")

# Small inventories render in well under a second: a bar would only flicker.
MIN_ITEMS = 10


def wanted(count: int, quiet: bool) -> bool:
    return not quiet and count >= MIN_ITEMS and sys.stderr.isatty()


def track(
    items: Iterable[T], quiet: bool, what: str = "rendering", total: int | None = None
) -> Iterator[T]:
    """Yield `items` (`total` of them; default len(items)), drawing a bar on stderr when it
    is a terminal (and not quiet)."""
    if total is None:
        total = len(items) if isinstance(items, Sized) else 0
    if not wanted(total, quiet):
        yield from items
        return
    # Imported here: rich costs ~0.1 s to import, which pipes and -q never need.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(what, total=total)
        for item in items:
            yield item
            bar.advance(task)
