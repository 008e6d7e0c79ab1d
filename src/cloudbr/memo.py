"""Results of pure functions of large contents that recur unchanged across hosts (the verify
and first-boot programs: one bytes object, reused by every host's tree), kept by the
object's identity: no hashing of the content to look it up (issue 13)."""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Generic, TypeVar

K = TypeVar("K", bound=Sized)
V = TypeVar("V")


class ByIdentity(Generic[K, V]):
    """`fn(obj)`, remembered for objects of at least `min_size` (len) while they live: each
    entry holds its object, so no other object can take its id. Bounded: a full table is
    emptied, and contents that recur come back at their next use."""

    def __init__(self, fn: Callable[[K], V], min_size: int = 4096, keep: int = 64) -> None:
        self.fn, self.min_size, self.keep = fn, min_size, keep
        self._known: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        entry = self._known.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = self.fn(obj)
        if len(obj) >= self.min_size:
            if len(self._known) >= self.keep:
                self._known.clear()
            self._known[id(obj)] = (obj, value)
        return value
