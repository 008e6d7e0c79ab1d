"""The installer payloads' gzip members (carriers/packed.py), read back by the real gzip."""

from __future__ import annotations

import base64
import subprocess

import pytest

from cloudbr.carriers import packed


def gunzip(b64: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["gzip", "-dc"], input=base64.b64decode(b64), capture_output=True)


def _pad(member: bytes) -> int:
    """The header comment's length (FCOMMENT, RFC 1952 2.3.1): the padding to 3 bytes."""
    return member.index(b"\0", 10) - 9 if member[3] & 0x10 else 0


def test_members_of_every_padding_back_to_back_give_the_script() -> None:
    texts = ["".join(f"line {i} é {n * i}\n" for i in range(n)) for n in range(1, 40)]
    assert {_pad(packed.member(t.encode())) for t in texts} == {0, 1, 2}
    assert all(len(packed.member(t.encode())) % 3 == 0 for t in texts)
    own, programs, rest = "#!/bin/sh\n", "".join(texts[:20]), "".join(texts[20:])
    b64 = packed.b64_members(own, programs, rest)
    assert "=" not in b64  # each member a multiple of 3 bytes: no padding between them
    got = gunzip(b64)
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode() == own + programs + rest


@pytest.mark.parametrize(("programs", "rest"), [("", ""), ("p\n", ""), ("", "r\n")])
def test_empty_parts_add_no_member(programs: str, rest: str) -> None:
    b64 = packed.b64_members("o\n", programs, rest)
    assert gunzip(b64).stdout == ("o\n" + programs + rest).encode()
    members = 1 + bool(programs) + bool(rest)
    assert base64.b64decode(b64).count(b"\x1f\x8b\x08") == members


def test_a_damaged_member_fails_gunzip() -> None:
    own, programs = "own\n" * 50, base64.b64encode(bytes(range(256)) * 40).decode()
    raw = bytearray(base64.b64decode(packed.b64_members(own, programs, "rest\n")))
    raw[len(packed.member(own.encode())) + len(packed.member(programs.encode())) // 2] ^= 0x40
    got = subprocess.run(["gzip", "-dc"], input=bytes(raw), capture_output=True)
    assert got.returncode != 0  # the programs' member: its deflate data or its CRC
