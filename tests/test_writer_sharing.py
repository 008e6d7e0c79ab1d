"""The writer's two savings keep every byte: a program that is the same in every tree is one
staged file hard-linked into the others, and whole zero pages (an ISO's system area) are
holes. Readers see exactly the files the renderers returned."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cloudbr import cli, pipeline, writer
from cloudbr.files import File, Role
from cloudbr.inventory import load_inventory
from tests.conftest import EXAMPLES

LAB = EXAMPLES / "lab.yaml"  # six hosts, three of them OVS, and the preseeds' site tree
P = writer.PAGE
ZERO = bytes(P)


def _render(out: Path) -> None:
    assert cli.main(["render", str(LAB), "-o", str(out), "-q"]) == 0


def _expected() -> dict[str, dict[str, tuple[bytes, int, Role]]]:
    """host -> path -> (content, mode, role), as the renderers return them."""
    inv = load_inventory(LAB)
    return {
        h.hostname: {p: (f.content, f.mode, f.role) for p, f in pipeline.render_host(h).items()}
        for h in inv.hosts
    }


def test_data_runs_leave_out_whole_aligned_zero_pages_only() -> None:
    assert writer.data_runs(b"") == []
    assert writer.data_runs(b"x" * 10) == [(0, 10)]
    assert writer.data_runs(ZERO) == []  # nothing to write; its size comes from ftruncate
    assert writer.data_runs(ZERO * 2 + b"a" * P + ZERO + b"b" * 10) == [
        (2 * P, 3 * P),
        (4 * P, 4 * P + 10),
    ]
    assert writer.data_runs(bytes(P - 1) + b"\1" + ZERO) == [(0, P)]  # trailing page: a hole
    assert writer.data_runs(b"a" + ZERO + b"a" * (P - 1)) == [(0, 2 * P)]  # zeros, unaligned


@pytest.mark.parametrize(
    ("content", "data_pages"),
    [
        (ZERO * 8 + b"iso", 1),
        (b"head" + bytes(3 * P) + b"tail", 2),  # the first page and the partial last one
        (b"a" * P + ZERO * 3, 1),
        (ZERO, 0),
        (b"", 0),
    ],
    ids=["leading", "inner", "trailing", "all-zero", "empty"],
)
def test_a_sparse_file_reads_back_byte_for_byte(
    tmp_path: Path, content: bytes, data_pages: int
) -> None:
    target = tmp_path / "f"
    writer._write_file(str(target), content, 0o640)
    assert target.read_bytes() == content
    assert target.stat().st_mode & 0o7777 == 0o640
    assert target.stat().st_blocks * 512 <= data_pages * P  # the zero pages take no space


def test_every_file_is_what_the_renderers_returned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _render(out)
    for host, files in _expected().items():
        on_disk = {str(p.relative_to(out / host)) for p in (out / host).rglob("*") if p.is_file()}
        assert on_disk == set(files)
        for path, (content, mode, _) in files.items():
            st = (out / host / path).stat()
            assert ((out / host / path).read_bytes(), st.st_mode & 0o7777) == (content, mode)


@pytest.mark.parametrize("umask", [0o077, 0o002])
def test_directories_are_0755_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """Files have their renderers' modes; the directories of a tree must not follow the
    umask either (0700 under 077 would hide /etc/cloudbr from its readers on the host)."""
    old = os.umask(umask)
    try:
        _render(tmp_path / "out")
    finally:
        os.umask(old)
    for host, files in _expected().items():
        dirs = [d for d in (tmp_path / "out" / host).rglob("*") if d.is_dir()]
        assert len(dirs) > 10
        assert {oct(d.stat().st_mode & 0o7777) for d in [tmp_path / "out" / host, *dirs]} == {
            "0o755"
        }
        for path, (_, mode, _) in files.items():
            assert (tmp_path / "out" / host / path).stat().st_mode & 0o7777 == mode


def test_seed_iso_system_area_is_a_hole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _render(out)
    iso = out / "kvm-c7-ovs" / "seed.iso"
    fd = os.open(iso, os.O_RDONLY)
    try:
        assert os.lseek(fd, 0, os.SEEK_DATA) == 16 * 2048  # the first volume descriptor
    finally:
        os.close(fd)
    assert iso.read_bytes()[: 16 * 2048] == bytes(16 * 2048)


def test_programs_are_one_file_per_mode_and_nothing_else_is_linked(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _render(out)
    inodes: dict[tuple[bytes, int], set[int]] = {}
    for host, files in _expected().items():
        for path, (content, mode, role) in files.items():
            st = (out / host / path).stat()
            if role in (Role.PROGRAM, Role.SHARED_PROGRAM):
                inodes.setdefault((content, mode), set()).add(st.st_ino)
            else:
                assert st.st_nlink == 1, f"{host}/{path} is linked"
    assert len(inodes) >= 4  # verify, agent settings, first-boot program, its 0600 seed copy
    assert all(len(found) == 1 for found in inodes.values())  # one inode per program and mode


def test_earlier_renders_in_the_process_never_split_a_programs_inode(tmp_path: Path) -> None:
    """A process that rendered before (here: 63 programs staged elsewhere) still links each
    program of this render to one file: the sources kept used to be cleared when full, and
    that could fall between two trees of one render."""
    other = tmp_path / "other"
    writer._link_sources.clear()  # this process's own history, made known
    for i in range(63):
        (other / str(i)).mkdir(parents=True)
        program = File(b"#!/bin/sh\n# %d\n" % i, 0o755, "test", Role.PROGRAM)
        writer._put_file(other, str(other / str(i) / "p"), program)
    test_programs_are_one_file_per_mode_and_nothing_else_is_linked(tmp_path)


def test_a_render_again_drops_the_old_trees_links(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _render(out)
    verify = out / "kvm-c7-br" / "rootfs/usr/local/sbin/cloudbr-verify"
    first = verify.stat().st_ino
    _render(out)
    assert verify.stat().st_ino != first  # a new tree, not an edit of the old file
    assert verify.stat().st_nlink == 6  # the six hosts' copies, none from the replaced trees


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP])
def test_without_hard_links_every_tree_gets_its_own_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def no_link(*_: object, **__: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_link)
    out = tmp_path / "out"
    _render(out)
    for host, files in _expected().items():
        for path, (content, _, _) in files.items():
            assert (out / host / path).stat().st_nlink == 1
            assert (out / host / path).read_bytes() == content


def test_another_link_failure_fails_the_render_and_leaves_out_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _render(out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))

    def failing(*_: object, **__: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "link", failing)
    assert cli.main(["render", str(LAB), "-o", str(out), "-q"]) == 3
    assert capsys.readouterr().err.startswith("cloudbr: ")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
