"""The one place that writes: each host's tree appears whole, or not at all.

OUT itself is never replaced, so it may be an existing directory, a mount point (a container
volume) or a symlink to a directory. Under an exclusive flock on OUT's own directory (a
second render into the same OUT waits for the first), every host is staged in
OUT/.cloudbr-stage-* (same filesystem: renames stay atomic) and made durable (one syncfs of
the filesystem covers files and directories); only when all hosts are staged is each
OUT/<host> swapped with its staged copy by renameat2(RENAME_EXCHANGE): a reader sees a host's
old tree or its new one, never a mix. Where the filesystem cannot exchange, the old tree is
renamed aside first (a moment without OUT/<host>).

Programs that are the same bytes in every tree are written once per stage and hard-linked
into the others, and whole zero pages (an ISO's system area) are left as holes: the same bytes
for every reader, a fraction of the writing. Directories are 0755 and files have their
renderers' modes, whatever the umask.

Stage directories left by a killed run are removed by the next render. Hosts in OUT that the
inventory no longer has stay, unless `prune` names the hosts to keep.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import Path

from cloudbr.files import SAME_ON_EVERY_HOST, File, FileMap

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
STAGE_PREFIX = ".cloudbr-stage-"
MANIFEST = "manifest.json"


class OutputError(Exception):
    """OUT cannot be written (not a directory, read-only, full, ...): one line for the user."""


@functools.cache  # find_library runs `ldconfig -p`: once a process, not once a host swapped
def _libc(name: str) -> Callable[..., int] | None:
    try:
        fn: Callable[..., int] = getattr(
            ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True), name
        )
    except (OSError, AttributeError):
        return None
    return fn


def _renameat2() -> Callable[..., int] | None:
    return _libc("renameat2")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False when the kernel or filesystem cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_filesystem(path: Path) -> None:
    """Make every staged file and directory durable: one syncfs(2) on OUT's filesystem (an
    fsync per file costs milliseconds each on ext4: minutes for a thousand hosts).
    CLOUDBR_UNSAFE_IO=1 skips it, for scratch output such as the unit suite's."""
    if os.environ.get("CLOUDBR_UNSAFE_IO") == "1":
        return
    syncfs = _libc("syncfs")
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


PAGE = 4096  # a hole is worth leaving where a whole page of the filesystem would be zeros


def data_runs(content: bytes) -> list[tuple[int, int]]:
    """(start, end) of `content` without its whole zero pages, left unwritten in a sparse file
    (an ISO's 32 KiB system area); a file without any is one run, an all-zero one none."""
    runs: list[tuple[int, int]] = []
    start = 0
    for page in range(0, len(content) - PAGE + 1, PAGE):
        if content[page] == 0 and content.count(0, page, page + PAGE) == PAGE:
            if start < page:
                runs.append((start, page))
            start = page + PAGE
    if start < len(content):
        runs.append((start, len(content)))
    return runs


def _write_file(target: str, content: bytes, mode: int, umask_free: bool = False) -> None:
    # umask_free: the umask leaves DIR_MODE whole (stage_host saw), so open(2) gives the mode.
    as_opened = umask_free and not mode & ~DIR_MODE
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode if as_opened else 0o600)
    try:
        runs = data_runs(content)
        for start, end in runs:
            view = memoryview(content)[start:end]
            while view:
                view = view[os.pwrite(fd, view, end - len(view)) :]
        if not runs or runs[-1][1] < len(content):  # it ends in a hole: it keeps its size
            os.ftruncate(fd, len(content))
        if not as_opened:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


# Files of these roles are written once per stage and process and hard-linked into every
# other tree (a render never edits a file in place). Sources are kept for the latest stage
# only: a process that renders again (tests, a library user) starts afresh, and a stage's
# programs never lose their source halfway (that gave a second inode for the same program).
_LINK_SOURCES_KEPT = 64
_link_stage = ""
# (content, mode) -> the staged file to link to. The bytes objects are the programs' own,
# shared by every host, so their hash is computed once.
_link_sources: dict[tuple[bytes, int], str] = {}


def _put_file(stage: Path, target: str, f: File, umask_free: bool = False) -> None:
    """Write `f` at `target`, or hard-link it to the same program staged before; where the
    filesystem has no hard links (or that one is gone), write it and link to this one."""
    global _link_stage
    if f.role not in SAME_ON_EVERY_HOST:
        _write_file(target, f.content, f.mode, umask_free)
        return
    if _link_stage != os.fspath(stage):
        _link_stage = os.fspath(stage)
        _link_sources.clear()
    key = (f.content, f.mode)
    source = _link_sources.get(key)
    if source is not None:
        try:
            os.link(source, target)
            return
        except OSError as err:
            if err.errno not in _NO_LINK:
                raise
    _write_file(target, f.content, f.mode, umask_free)
    if source is not None or len(_link_sources) < _LINK_SOURCES_KEPT:
        _link_sources[key] = target


# link(2) cannot: the source is gone, too many links, or the filesystem has none.
_NO_LINK = frozenset({errno.ENOENT, errno.EMLINK, errno.EPERM, errno.EXDEV, errno.ENOTSUP})


DIR_MODE = 0o755  # every directory of a tree, whatever the umask (files have their own modes)


def stage_host(stage: Path, name: str, files: FileMap) -> None:
    """Write one tree into the stage (a name staged twice is an error: the first stays)."""
    root = stage / name
    root.mkdir(mode=DIR_MODE)
    chmod = root.stat().st_mode & 0o777 != DIR_MODE  # the umask took bits away: put them back
    if chmod:
        os.chmod(root, DIR_MODE)
    made = {str(root)}
    for relpath in sorted(files):
        f = files[relpath]
        target = os.path.join(root, relpath.lstrip("/"))
        parent = os.path.dirname(target)
        if parent not in made:  # one mkdir per directory, not per file
            _make_dirs(parent, made, chmod)
        _put_file(stage, target, f, umask_free=not chmod)


def _make_dirs(path: str, made: set[str], chmod: bool) -> None:
    """`os.makedirs(path, DIR_MODE, exist_ok=True)` below directories this host already made,
    without makedirs' stat of every ancestor (about 19 directories a host); each directory
    made is DIR_MODE whatever the umask."""
    missing = []
    while path not in made:
        missing.append(path)
        up = os.path.dirname(path)
        if up == path:  # outside the host's root: makedirs, as before
            os.makedirs(missing[0], exist_ok=True)
            made.update(missing)
            return
        path = up
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
        else:
            if chmod:  # a umask such as 077 took bits of DIR_MODE away
                os.chmod(directory, DIR_MODE)
        made.add(directory)


def _wrote(tree: Path) -> bool:
    """A tree cloudbr wrote: its manifest.json is a file naming this very tree."""
    manifest = tree / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return False
    try:
        doc = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and tree.name in (doc.get("host"), doc.get("site"))


def _check_replaceable(out: Path, stage: Path, names: Iterable[str]) -> None:
    """Every tree about to be swapped in can be, before the first one is: OUT/<name> is
    absent, or an empty directory or one cloudbr wrote, on the stage's filesystem (not a mount
    point), so that no swap fails halfway through for a reason known beforehand."""
    device = stage.stat().st_dev
    for name in names:
        current = out / name
        if not os.path.lexists(current):
            continue
        if current.is_symlink() or not current.is_dir():
            raise OutputError(f"{current} exists and is not a directory cloudbr wrote")
        if current.stat().st_dev != device:
            raise OutputError(f"{current} is a mount point or on another filesystem: not replaced")
        if not _wrote(current) and any(current.iterdir()):
            raise OutputError(f"{current} is not a tree cloudbr wrote (no manifest.json of it)")


class _Swap(Enum):
    NEW = "new"  # renamed into place: OUT had no such entry
    EXCHANGED = "exchanged"  # swapped with the old tree, which is now in the stage
    ASIDE = "aside"  # the old tree renamed into the stage first, then the new one into place


def _swap_in(out: Path, stage: Path, name: str) -> _Swap:
    new, current = stage / name, out / name
    if not os.path.lexists(current):
        os.rename(new, current)
        return _Swap.NEW
    if _exchange(new, current):
        return _Swap.EXCHANGED
    aside = stage / f"{name}.old"
    os.rename(current, aside)
    try:
        os.rename(new, current)
    except BaseException:
        os.rename(aside, current)
        raise
    return _Swap.ASIDE


def _swap_back(out: Path, stage: Path, name: str, how: _Swap) -> None:
    new, current = stage / name, out / name
    if how is _Swap.EXCHANGED:
        if not _exchange(new, current):
            raise OSError(errno.ENOTSUP, "cannot exchange again", str(current))
        return
    os.rename(current, new)
    if how is _Swap.ASIDE:
        os.rename(stage / f"{name}.old", current)


def _swap_all(out: Path, stage: Path, names: list[str]) -> None:
    """Swap every staged tree in, in order; if one fails (or the run is interrupted), swap
    back those already in, last first: OUT is then as it was. The old trees stay in the
    stage until the end, so that they can come back."""
    done: list[tuple[str, _Swap]] = []
    try:
        for name in names:
            done.append((name, _swap_in(out, stage, name)))
    except BaseException:
        for name, how in reversed(done):
            _swap_back(out, stage, name, how)
        raise


def _clean_stale_stages(out: Path) -> None:
    for entry in out.iterdir():
        if entry.name.startswith(STAGE_PREFIX) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)


def _prune(out: Path, keep: set[str]) -> list[str]:
    """Remove the trees cloudbr wrote (`_wrote`) whose name is not in `keep`."""
    removed = []
    for entry in sorted(out.iterdir()):
        if entry.name.startswith(".") or entry.name in keep or entry.is_symlink():
            continue
        if entry.is_dir() and _wrote(entry):
            shutil.rmtree(entry)
            removed.append(entry.name)
    return removed


def _lock(out: Path) -> int:
    """flock on OUT's own directory: nothing to leave behind, released when the process dies."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"cloudbr: waiting for another render into {out} to finish", file=sys.stderr)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _output_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_tree(
    out: Path, trees: Iterable[tuple[str, FileMap]], prune: set[str] | None = None
) -> list[str]:
    """Write OUT/<name>/<relpath> for every tree; replaces those names, keeps other entries
    (or, with `prune`, removes host directories neither named in it nor written now).
    Returns the pruned names.

    Trees may come from a generator: each is written to the stage as soon as it is produced,
    so memory holds one host's files at a time, whatever the inventory's size.
    Raises OutputError or OSError; OUT is then as it was.
    """

    def stage_all(stage: Path) -> Iterator[str]:
        seen: set[str] = set()
        for name, files in trees:
            if name not in seen:  # a name given twice: its first tree is the one written
                seen.add(name)
                stage_host(stage, name, files)
                yield name

    return write_staged(out, stage_all, prune)


def write_staged(
    out: Path, stage_trees: Callable[[Path], Iterable[str]], prune: set[str] | None = None
) -> list[str]:
    """As `write_tree`, for trees staged by `stage_trees(stage)` (with `stage_host`, possibly
    in other processes): it yields each name once its tree is wholly staged, and returns
    only when nothing writes into the stage any more."""
    out = _output_dir(out.absolute())
    lock = _lock(out)
    try:
        _clean_stale_stages(out)
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out))
        try:
            names = list(dict.fromkeys(stage_trees(stage)))
            _sync_filesystem(stage)  # everything staged is on disk before any swap
            _check_replaceable(out, stage, names)
            _swap_all(out, stage, names)
            removed = _prune(out, prune | set(names)) if prune is not None else []
            _fsync_dir(out)
            return removed
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    finally:
        os.close(lock)


def write_file(path: Path, content: bytes, mode: int = 0o644) -> None:
    """One file (`cloudbr diagram`), atomically: written beside `path`, renamed over it."""
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
