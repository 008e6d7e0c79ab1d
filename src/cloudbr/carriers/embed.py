"""Turn a rootfs file map into a shell script that lays the tree down under a target root.

Installer documents (kickstart `%post`, preseed `late_command`) carry a host's files inside a
script. The script must reproduce every file exactly, whatever bytes it holds, and must never
contain a line that the enclosing document would read as its own syntax:

- Each file's bytes travel as base64 inside single quotes, so no content can end a heredoc,
  expand `$(...)`, backticks or variables, or produce a `%end`/`%include` line: every line
  of the script is either fixed code written here or base64 (`[A-Za-z0-9+/=]`).
- Paths are checked (absolute, no `..`, printable, no newline) and shlex-quoted.
- Each file is written to a temporary file beside its target, given its exact mode, then
  renamed into place, so a failure never leaves a half-written file behind.

The script is POSIX sh (bash, dash and busybox sh run it) and needs `base64 -d`, `mktemp`,
`mkdir`, `chmod` and `mv`. Its first argument is the target root; without one it uses the
`root` given to `install_script` (`/` for a kickstart `%post`, which runs chrooted).
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping

from cloudbr.files import SECRET, File, FileMap, Role
from cloudbr.memo import ByIdentity

# Base64 line length: short lines keep installer logs and diffs readable.
B64_WIDTH = 76

_PRELUDE = """\
# shellcheck disable=SC2016  # single-quoted paths and base64 are literal on purpose
set -eu
umask 022
cloudbr_root=${{1:-{root}}}
# cloudbr_put PATH MODE BASE64: write PATH (relative to the root) atomically with MODE.
cloudbr_put() {{
    cloudbr_dest="${{cloudbr_root%/}}/$1"
    mkdir -p -- "$(dirname -- "$cloudbr_dest")"
    cloudbr_tmp=$(mktemp "$cloudbr_dest.cloudbr.XXXXXX")
    printf '%s\\n' "$3" | base64 -d > "$cloudbr_tmp"
    chmod "$2" "$cloudbr_tmp"
    mv -f -- "$cloudbr_tmp" "$cloudbr_dest"
}}
# cloudbr_dir PATH MODE: create the directory PATH (relative to the root) with MODE.
cloudbr_dir() {{
    mkdir -p -- "${{cloudbr_root%/}}/$1"
    chmod "$2" "${{cloudbr_root%/}}/$1"
}}
"""


def _checked_path(path: str) -> str:
    """The path relative to the root; refuses anything that could escape or break a line."""
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError(f"{path!r}: expected an absolute file path")
    parts = path.strip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{path!r}: empty, '.' or '..' path component")
    if not path.isprintable():
        raise ValueError(f"{path!r}: control characters in a path")
    return "/".join(parts)


def _mode(mode: int) -> str:
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"mode {mode:o} is out of range")
    return f"{mode:04o}"


def _quoted_b64(content: bytes) -> str:
    """Single-quoted base64 over several lines; an empty file is ''."""
    text = base64.b64encode(content).decode("ascii")
    return "'" + "\n".join(chunks(text, B64_WIDTH)) + "'"


_b64 = ByIdentity(_quoted_b64)  # a program every host carries is encoded once


def chunks(text: str, width: int) -> list[str]:
    """Split text into lines of `width` characters (textwrap is 50x slower on base64)."""
    return [text[i : i + width] for i in range(0, len(text), width)]


def install_script(
    tree: FileMap,
    root: str = "/",
    dir_modes: Mapping[str, int] | None = None,
) -> str:
    """A POSIX sh script that writes every file of `tree` under the target root.

    tree: target path ("/etc/hosts") -> File; content and mode are reproduced exactly.
    root: default target root when the script gets no argument ("/target" for d-i).
    dir_modes: directories to create first with an exact mode (e.g. {"/root/.ssh": 0o700});
        other parent directories are created as needed with mode 0755.
    """
    if not root.startswith("/") or "\n" in root:
        raise ValueError(f"root {root!r} must be an absolute path")
    lines = [_PRELUDE.format(root=shlex.quote(root)).rstrip("\n")]
    for path, mode in sorted((dir_modes or {}).items()):
        lines.append(f"cloudbr_dir {shlex.quote(_checked_path(path))} {_mode(mode)}")
    lines.append(put_lines(tree))
    return "\n".join(lines)


def put_lines(tree: FileMap) -> str:
    """The `cloudbr_put` lines alone, in path order, for a script whose install_script
    already defined the functions ('' for no files)."""
    return "".join(
        f"cloudbr_put {shlex.quote(_checked_path(p))} {_mode(tree[p].mode)} \\\n"
        f"{_b64(tree[p].content)}\n"
        for p in sorted(tree)
    )


UNIT_DIR = "/etc/systemd/system/"


def units_to_enable(tree: FileMap) -> list[str]:
    """The tree's units to enable (Role.UNIT). A FileMap cannot hold the symlinks that
    `systemctl enable` makes, so every carrier enables these itself."""
    out = []
    for path, f in tree.items():
        if f.role is not Role.UNIT:
            continue
        if not path.startswith(UNIT_DIR) or "/" in path[len(UNIT_DIR) :]:
            raise ValueError(f"{path}: a unit to enable must be in {UNIT_DIR}")
        out.append(path[len(UNIT_DIR) :])
    return sorted(out)


AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"
SSH_DIR_MODES = {"/root/.ssh": 0o700}


def with_root_keys(tree: FileMap, keys: tuple[str, ...], renderer: str) -> FileMap:
    """The tree plus root's authorized_keys, for installers that have no SSH key question
    (RHEL 7 kickstart has no `sshkey`; debian-installer has none either)."""
    files = dict(tree)
    if keys:
        files[AUTHORIZED_KEYS] = File.text(
            "\n".join(keys), mode=SECRET, renderer=renderer, role=Role.ACCESS
        )
    return files
