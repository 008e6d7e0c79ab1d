"""The one place that writes: a whole output tree appears at once, or not at all.

Everything is staged in a sibling temporary directory, then swapped in with a single
renameat2(RENAME_EXCHANGE) where the kernel offers it (two renames otherwise). Hosts already
in OUT that this run does not render are carried over as hard links.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cloudbr.files import FileMap

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False when renameat2 is unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)


def _write_file(root: Path, relpath: str, content: bytes, mode: int) -> None:
    target = root / relpath.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.chmod(target, mode)


def write_tree(out: Path, trees: Iterable[tuple[str, FileMap]]) -> None:
    """Write OUT/<name>/<relpath> for every tree; replaces those names, keeps other entries.

    Trees may come from a generator: each is written to the stage as soon as it is produced,
    so memory holds one host's files at a time, whatever the inventory's size.
    """
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        os.chmod(stage, 0o755)
        written: set[str] = set()
        for name, files in trees:
            written.add(name)
            for relpath in sorted(files):
                f = files[relpath]
                _write_file(stage / name, relpath, f.content, f.mode)
        if out.is_dir():
            for entry in out.iterdir():
                if entry.name not in written:
                    _link_copy(entry, stage / entry.name)
        if not out.exists():
            os.rename(stage, out)
            return
        if _exchange(stage, out):
            shutil.rmtree(stage)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "tree")
        os.rename(stage, out)
        shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _link_copy(src: Path, dst: Path) -> None:
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
    else:
        os.link(src, dst, follow_symlinks=False)


def write_file(path: Path, content: bytes, mode: int = 0o644) -> None:
    """One file, atomically: written beside `path`, then renamed over it."""
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
