"""`cloudbr diff INVENTORY -o OUT`: what `cloudbr render` would change in OUT, written
nowhere. Hosts added, removed and changed, and a unified diff per changed file with
password hashes and SSH keys masked on both sides (a changed secret shows as such)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cloudbr.files import FileMap
from cloudbr.model import Host
from cloudbr.pipeline import render_host

MANIFEST = "manifest.json"
# crypt(3) hashes ($6$salt$hash, $6$rounds=N$salt$hash, $y$..., $2b$...) and OpenSSH keys.
_HASH = re.compile(r"\$(?:[0-9a-z]{1,2})\$[./0-9A-Za-z$=,]{8,}")
_KEY = re.compile(r"\b((?:ssh|sk-ssh|ecdsa-sha2|sk-ecdsa-sha2)-[\w@.-]+) [A-Za-z0-9+/=]{16,}")


def mask(text: str) -> str:
    return _KEY.sub(r"\1 ***", _HASH.sub("$*$***", text))


def _secrets(text: str) -> list[str]:
    return _HASH.findall(text) + [m.group(0) for m in _KEY.finditer(text)]


@dataclass
class HostDiff:
    name: str
    state: str  # "added", "removed", "changed", "same"
    lines: list[str] = field(default_factory=list)


def _disk_files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def _text(data: bytes) -> str | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _file_diff(label: str, old: bytes, new: bytes, old_mode: int, new_mode: int) -> list[str]:
    out = [f"mode {old_mode:04o} -> {new_mode:04o}: {label}\n"] if old_mode != new_mode else []
    if old == new:
        return out
    a, b = _text(old), _text(new)
    if a is None or b is None:
        return [*out, f"binary file {label} differs\n"]
    masked = (mask(a).splitlines(keepends=True), mask(b).splitlines(keepends=True))
    diff = list(difflib.unified_diff(*masked, f"a/{label}", f"b/{label}"))
    if not diff:
        return [*out, f"{label}: only masked secrets (password hash or SSH key) differ\n"]
    out += [line if line.endswith("\n") else line + "\n" for line in diff]
    if _secrets(a) != _secrets(b):  # masked alike: the lines above cannot show it
        out.append(f"{label}: masked secrets (password hash or SSH key) differ too\n")
    return out


def tree_diff(out: Path, name: str, files: FileMap) -> HostDiff:
    """OUT/<name> on disk against the files a render would write there."""
    root = out / name
    if not root.is_dir():
        return HostDiff(name, "added", [f"{p}\n" for p in sorted(files)])
    on_disk = _disk_files(root)
    lines: list[str] = []
    for rel in sorted(set(on_disk) | set(files)):
        label = f"{name}/{rel}"
        if rel not in files:
            lines.append(f"only in {out}: {label}\n")
        elif rel not in on_disk:
            lines.append(f"new file: {label}\n")
        elif rel != MANIFEST:  # the manifest restates every other difference
            disk = on_disk[rel]
            old_mode = disk.stat().st_mode & 0o7777
            f = files[rel]
            lines += _file_diff(label, disk.read_bytes(), f.content, old_mode, f.mode)
    return HostDiff(name, "changed" if lines else "same", lines)


def diff_trees(
    out: Path, hosts: Iterable[Host], site: Iterable[tuple[str, FileMap]], only: bool
) -> list[HostDiff]:
    """One entry per host and per site-level tree (OUT/pxe); trees in OUT that the inventory
    no longer has are "removed" (unless `only`: a --host selection says nothing about the
    other hosts). `render` writes the site trees with any selection, so they are always
    compared."""
    results = [tree_diff(out, h.hostname, render_host(h)) for h in hosts]
    results += [tree_diff(out, name, files) for name, files in site]
    if not only and out.is_dir():
        known = {r.name for r in results}
        results += [
            HostDiff(d.name, "removed")
            for d in sorted(out.iterdir())
            if d.is_dir() and (d / MANIFEST).is_file() and d.name not in known
        ]
    return results


def report(results: list[HostDiff]) -> str:
    # `render` keeps the tree of a host gone from the inventory; `render --prune` deletes it.
    states = {"added": "+ {} (added)", "removed": "- {} (removed from the inventory)"}
    states["changed"] = "~ {} (changed)"
    head = [states[r.state].format(r.name) + "\n" for r in results if r.state in states]
    body = [line for r in results if r.state == "changed" for line in r.lines]
    same = sum(r.state == "same" for r in results)
    tail = [f"{len(head)} tree(s) would change, {same} unchanged (hosts and site trees)\n"]
    return "".join(head + (["\n"] if body else []) + body + tail)
