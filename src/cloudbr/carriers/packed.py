"""A script carried inside an installer document as the base64 of gzip members, one per part.

gunzip writes the members' contents one after the other (RFC 1952, 2.2), and each member's
CRC stops a cut or corrupt payload. Split in three parts (the host's own lines, the lines
that install the programs every host carries, the rest), the middle one is compressed once
per render instead of once per host: same script after gunzip, a fraction of the work.
"""

from __future__ import annotations

import base64
import functools
import struct
import zlib

from cloudbr.carriers import embed

# Level 6, not 9: the script is mostly base64 already, so 9 saved 0.2% of the payload for
# 1.7x the time.
GZIP_LEVEL = 6


def member(data: bytes) -> bytes:
    """One gzip member whose length is a multiple of 3, padded with a header comment: its
    base64 has no '=' and the next member's base64 simply follows it."""
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(data) + deflate.flush()
    tail = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    pad = -(10 + len(body) + 8) % 3
    flags, comment = (0x10, b"c" * (pad - 1) + b"\0") if pad else (0, b"")
    head = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, 0, 0, 255)
    return head + comment + body + tail


def _b64_member(text: str) -> str:
    return base64.b64encode(member(text.encode("utf-8"))).decode("ascii")


_programs_b64 = functools.lru_cache(maxsize=8)(_b64_member)  # the same text on every host


def b64_members(own: str, programs: str, rest: str) -> str:
    """The three parts as gzip members, base64'd back to back (an empty `programs` or
    `rest` adds no member; `own` always gives one, so the payload is never empty)."""
    out = _b64_member(own)
    if programs:
        out += _programs_b64(programs)
    if rest:
        out += _b64_member(rest)
    return out


def unpack_and_run(parts: tuple[str, str, str], *, script: str, run: str) -> str:
    """sh that decodes the parts' members into a fresh directory, gunzips them to `script`
    (gzip's CRC stops a cut or corrupt payload) and runs `run` (shell words: the script is
    "$cloudbr_dir/<script>"); its exit status is the command's. Every line between the
    heredoc's markers is base64, so none can end the document that holds it."""
    return _unpack_and_run("\n".join(_payload_lines(parts)), script, run)


def _payload_lines(parts: tuple[str, str, str]) -> list[str]:
    return embed.chunks(b64_members(*parts), embed.B64_WIDTH)


def _unpack_and_run(b64: str, script: str, run: str) -> str:
    return (
        "set -eu\n"
        "cloudbr_dir=$(mktemp -d)\n"
        f"base64 -d > \"$cloudbr_dir/{script}.gz\" <<'CLOUDBR_EOF'\n"
        f"{b64}\n"
        "CLOUDBR_EOF\n" + _gunzip_and_run(script, run)
    )


def _gunzip_and_run(script: str, run: str) -> str:
    """The end of both forms: the script out of its gzip, run, and its directory gone."""
    return f'gunzip "$cloudbr_dir/{script}.gz"\n{run}\nrm -rf -- "$cloudbr_dir"\n'


# execve(2) refuses an argument longer than MAX_ARG_STRLEN (32 pages, its NUL included): a
# `sh -c` command over it cannot even start.
ARG_MAX_STRLEN = 32 * 4096
# Base64 carried by each command of a split payload: far below the limit, whatever the rest.
SPLIT_CHARS = 96 * 1024


def unpack_and_run_commands(
    parts: tuple[str, str, str], *, script: str, run: str, spool: str
) -> list[str]:
    """`unpack_and_run` for an installer that runs each command with `sh -c` (one argument):
    that one command while it fits; else several, run in order, each within the limit: all
    but the last append a slice of the payload's base64 to a file in `spool` (a shell word
    naming a directory they share, made afresh by the first), the last decodes and runs it."""
    lines = _payload_lines(parts)
    single = _unpack_and_run("\n".join(lines), script, run)
    if len(single.encode()) < ARG_MAX_STRLEN:
        return [single]
    per = SPLIT_CHARS // (embed.B64_WIDTH + 1)
    spooled = f'"$cloudbr_dir/{script}.b64"'
    commands = []
    for start in range(0, len(lines), per):
        fresh = f"rm -rf -- {spool}\nmkdir -m 0700 -- {spool}\n" if not start else ""
        body = "\n".join(lines[start : start + per])
        commands.append(
            f"set -eu\ncloudbr_dir={spool}\n{fresh}"
            f"cat >> {spooled} <<'CLOUDBR_EOF'\n{body}\nCLOUDBR_EOF\n"
        )
    commands.append(
        f"set -eu\ncloudbr_dir={spool}\n"
        f'base64 -d {spooled} > "$cloudbr_dir/{script}.gz"\n' + _gunzip_and_run(script, run)
    )
    return commands
