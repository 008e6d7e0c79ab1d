"""A small, deterministic ISO9660 writer (Rock Ridge + Joliet) on top of pycdlib.

Used for NoCloud seed images: a flat set of files under a volume label. Same input, same
bytes: files are added in sorted order and every timestamp pycdlib records (volume
descriptors, directory records, Rock Ridge TF entries) is taken from a fixed clock in UTC,
so neither the wall clock nor the TZ of the machine that builds the image leaks into it.
"""

from __future__ import annotations

import io
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from time import struct_time
from types import ModuleType
from typing import Any

import pycdlib

# 2000-01-01T00:00:00Z. Not 0: pycdlib writes an all-zero volume date ("not specified") for
# 0, and some readers show 1970 dates as broken.
EPOCH = 946_684_800

# Rock Ridge / Joliet names we accept: flat, portable, no path separators.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# ISO9660 d-characters (interchange levels 1-3): upper-case letters, digits, underscore.
_NOT_D_CHAR = re.compile(r"[^A-Z0-9_]")

FILE_MODE = 0o100400  # Rock Ridge mode: regular file, readable by root only (seeds carry hashes)

_clock_lock = threading.Lock()


class IsoError(ValueError):
    """A file name or label that cannot be put on the image as asked."""


class _FixedClock:
    """Stands in for the `time` module inside pycdlib while an image is mastered."""

    def __init__(self, epoch: int) -> None:
        self._epoch = float(epoch)
        self._tm = time.gmtime(self._epoch)  # asked for many times per image

    def time(self) -> float:
        return self._epoch

    def localtime(self, secs: float | None = None) -> struct_time:
        # UTC: pycdlib derives the GMT offset from localtime - gmtime, which becomes 0.
        return self._tm if secs is None or secs == self._epoch else time.gmtime(secs)

    def gmtime(self, secs: float | None = None) -> struct_time:
        return self._tm if secs == self._epoch else time.gmtime(secs)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_modules: tuple[int, list[ModuleType]] = (-1, [])


def _pycdlib_modules() -> list[ModuleType]:
    """pycdlib's modules that use `time` (looked up again only when modules were imported
    since: a scan of sys.modules per image cost a quarter of a millisecond)."""
    global _modules
    if _modules[0] != len(sys.modules):
        found = [
            mod
            for name, mod in sorted(sys.modules.items())
            if name.startswith("pycdlib.") and getattr(mod, "time", None) is time
        ]
        _modules = (len(sys.modules), found)
    return _modules[1]


@contextmanager
def _fixed_clock(epoch: int) -> Iterator[None]:
    """pycdlib reads time.time()/localtime() at many points and offers no parameter for it;
    swap the `time` name those modules see, for the duration of one build."""
    with _clock_lock:
        mods = _pycdlib_modules()
        clock = _FixedClock(epoch)
        for mod in mods:
            setattr(mod, "time", clock)  # noqa: B010 - module attribute, not a constant name
        try:
            yield
        finally:
            for mod in mods:
                setattr(mod, "time", time)  # noqa: B010


def iso9660_name(name: str) -> str:
    """`user-data` -> `USER_DATA.;1` (level 3 allows 30 characters, d-characters only)."""
    stem, dot, ext = name.upper().rpartition(".")
    if not dot:
        stem, ext = ext, ""
    return f"{_NOT_D_CHAR.sub('_', stem)}.{_NOT_D_CHAR.sub('_', ext)};1"


def build_iso(files: Mapping[str, bytes], *, label: str, epoch: int = EPOCH) -> bytes:
    """An ISO9660 image holding `files` (name -> content) in its root directory, with the
    exact names visible through Rock Ridge (Linux) and Joliet (other readers)."""
    if not _LABEL.fullmatch(label):
        raise IsoError(f"volume label {label!r}: 1-32 letters, digits, '_' or '-'")
    short_names: dict[str, str] = {}
    for name in files:
        if not _NAME.fullmatch(name):
            raise IsoError(f"file name {name!r}: flat, 1-30 of letters, digits, '.', '_', '-'")
        short = iso9660_name(name)
        if short in short_names:
            raise IsoError(f"{name!r} and {short_names[short]!r} share ISO9660 name {short}")
        short_names[short] = name

    with _fixed_clock(epoch):
        image = _empty_images.pop((label, epoch), None) or _new_image(label)
        data = _master(image, files)  # an exception drops the image: none half-filled is kept
        _empty_images[(label, epoch)] = image
    return data


# An empty image per label and clock, filled, written and emptied again by each build (under
# the clock's lock): the same bytes as a new image's (tests prove it), at about half the cost
# (pycdlib's new() builds every volume descriptor and the root directory afresh).
_empty_images: dict[tuple[str, int], pycdlib.PyCdlib] = {}


def _new_image(label: str) -> pycdlib.PyCdlib:
    image = pycdlib.PyCdlib()
    image.new(
        interchange_level=3,
        vol_ident=label,
        app_ident_str="CLOUDBR",
        joliet=3,
        rock_ridge="1.09",
    )
    return image


def _master(image: pycdlib.PyCdlib, files: Mapping[str, bytes]) -> bytes:
    names = sorted(files)
    for name in names:
        data = files[name]
        image.add_fp(
            io.BytesIO(data),
            len(data),
            iso_path="/" + iso9660_name(name),
            rr_name=name,
            joliet_path="/" + name,
            file_mode=FILE_MODE,
        )
    out = io.BytesIO()
    image.write_fp(out)
    for name in names:
        image.rm_file(iso_path="/" + iso9660_name(name), rr_name=name, joliet_path="/" + name)
    return out.getvalue()
