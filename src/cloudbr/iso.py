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

    names = tuple(sorted(files))
    shape = (label, epoch, tuple((name, _blocks(len(files[name]))) for name in names))
    if shape in _templates:
        template = _templates[shape]
        if template is not None:
            return template.fill([files[name] for name in names])
        return master(files, label, epoch)[0]
    if len(_templates) >= TEMPLATES_KEPT:
        _templates.clear()
    image, _templates[shape] = _learn(files, label, epoch)
    return image


def master(files: Mapping[str, bytes], label: str, epoch: int) -> tuple[bytes, list[int]]:
    """pycdlib's image of `files`, and where each file's data starts (sorted by name)."""
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


def _master(image: pycdlib.PyCdlib, files: Mapping[str, bytes]) -> tuple[bytes, list[int]]:
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
    paths = ["/" + iso9660_name(name) for name in names]
    # All before the first removal, which moves the later files' extents.
    starts = [image.get_record(iso_path=path).extent_location() * BLOCK for path in paths]
    for name, path in zip(names, paths, strict=True):
        image.rm_file(iso_path=path, rr_name=name, joliet_path="/" + name)
    return out.getvalue(), starts


# Templates (issue 13: mastering was a millisecond of every host's render). pycdlib lays an
# image out from the file names and each file's size in blocks alone: two images whose files
# have the same names and block counts differ only in the files' bytes (zero-padded to their
# blocks) and in each file's data length, a both-endian 32-bit field of its directory records
# (ISO9660 and Joliet; ECMA-119 9.1.4). So the first image of a shape is learnt: mastered
# again with each file at the smallest and at the largest size its blocks hold, the length
# fields found where the sizes are written, and kept only if filling it reproduces both of
# those images byte for byte. Any other shape is mastered by pycdlib itself.
BLOCK = 2048
TEMPLATES_KEPT = 64
_Shape = tuple[str, int, tuple[tuple[str, int], ...]]
_templates: dict[_Shape, Template | None] = {}


def _blocks(size: int) -> int:
    return -(-size // BLOCK)


def _both_endian(value: int) -> bytes:
    return value.to_bytes(4, "little") + value.to_bytes(4, "big")


class Template:
    """One pycdlib image of a shape, and where each file's data and length fields are."""

    def __init__(self, image: bytes, starts: list[int], blocks: list[int]) -> None:
        self.image, self.starts, self.blocks = image, starts, blocks
        self.length_fields: list[list[int]] = [[] for _ in starts]

    def fill(self, contents: list[bytes]) -> bytes:
        out = bytearray(self.image)
        for data, start, blocks, fields in zip(
            contents, self.starts, self.blocks, self.length_fields, strict=True
        ):
            end = start + len(data)
            out[start:end] = data
            out[end : start + blocks * BLOCK] = bytes(start + blocks * BLOCK - end)
            size = _both_endian(len(data))
            for at in fields:
                out[at : at + 8] = size
        return bytes(out)


def _learn(files: Mapping[str, bytes], label: str, epoch: int) -> tuple[bytes, Template | None]:
    """pycdlib's image of `files`, and the template of its shape (None: pycdlib always)."""
    names = sorted(files)
    image, starts = master(files, label, epoch)
    blocks = [_blocks(len(files[name])) for name in names]
    if 0 in blocks or len(names) > 200:  # empty: no size to vary; 200: a fill byte each
        return image, None
    template = Template(image, starts, blocks)
    variants = []
    # Near the smallest and the largest size of each file's blocks, no two files alike: a
    # length field belongs to the one file whose sizes it shows.
    smallest = [min((b - 1) * BLOCK + 1 + i, b * BLOCK) for i, b in enumerate(blocks)]
    largest = [max(b * BLOCK - i, (b - 1) * BLOCK + 1) for i, b in enumerate(blocks)]
    for sizes in (smallest, largest):
        contents = [bytes([i + 1]) * size for i, size in enumerate(sizes)]
        variant, variant_starts = master(dict(zip(names, contents, strict=True)), label, epoch)
        if variant_starts != starts or len(variant) != len(image):
            return image, None
        variants.append((contents, variant))
    small, large = variants[0][0], variants[1][0]
    for i, name in enumerate(names):
        was = _both_endian(len(files[name]))
        low, high = _both_endian(len(small[i])), _both_endian(len(large[i]))
        at = image.find(was)
        while at >= 0:
            if variants[0][1][at : at + 8] == low and variants[1][1][at : at + 8] == high:
                template.length_fields[i].append(at)
            at = image.find(was, at + 1)
    variants.append(([files[name] for name in names], image))
    if any(template.fill(contents) != built for contents, built in variants):
        return image, None
    return image, template
