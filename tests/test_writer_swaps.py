"""The swap phase keeps its promise: OUT as it was after any failure, and nothing replaced or
pruned that cloudbr did not write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudbr import cli, writer
from tests.test_cli import LAB, snapshot

HOSTS = ["kvm-c7-br", "kvm-c7-ovs", "kvm-d12-br", "kvm-d12-ovs", "kvm-u18-br", "kvm-u18-ovs"]


def render(out: Path, *args: str) -> int:
    """Render the lab with one DNS server changed: every host's tree differs from the one
    the `out` fixture wrote."""
    changed = out.parent / "changed.yaml"
    if not changed.exists():
        text = LAB.read_text()
        assert "192.168.100.6]" in text
        changed.write_text(text.replace("192.168.100.6]", "192.168.100.7]"))
    return cli.main(["render", str(changed), "-o", str(out), "-q", *args])


def empty(tree: Path) -> None:
    """Remove everything below `tree`, keeping the directory."""
    for path in sorted(tree.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    assert cli.main(["render", str(LAB), "-o", str(path), "-q"]) == 0
    return path


@pytest.mark.parametrize("no_exchange", [False, True], ids=["exchange", "rename-aside"])
def test_a_swap_that_fails_halfway_swaps_the_others_back(
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_exchange: bool,
) -> None:
    before = snapshot(out)
    (out / "kvm-d12-ovs").rename(out.parent / "kept")  # one host comes in new (a plain rename)
    before_without = snapshot(out)
    real = writer._swap_in
    if no_exchange:
        monkeypatch.setattr(writer, "_exchange", lambda a, b: False)

    def failing(o: Path, stage: Path, name: str) -> writer._Swap:
        if name == "kvm-u18-br":  # after four swaps: two exchanged (or aside), one new
            raise OSError(5, "Input/output error", str(o / name))
        return real(o, stage, name)

    monkeypatch.setattr(writer, "_swap_in", failing)
    assert render(out) == 3
    assert capsys.readouterr().err.endswith("Input/output error\n")
    assert snapshot(out) == before_without
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no stage left behind
    assert before != before_without


def test_an_interrupted_swap_phase_leaves_out_as_it_was(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(out)
    real = writer._swap_in

    def interrupted(o: Path, stage: Path, name: str) -> writer._Swap:
        if name == "kvm-d12-ovs":
            raise KeyboardInterrupt
        return real(o, stage, name)

    monkeypatch.setattr(writer, "_swap_in", interrupted)
    assert render(out) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "cloudbr: interrupted\n"
    assert snapshot(out) == before


def test_a_directory_cloudbr_did_not_write_is_never_replaced(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = out / "kvm-d12-br"
    empty(mine)
    (mine / "notes.txt").write_text("my work\n")
    before = snapshot(out)
    assert render(out) == 3
    assert capsys.readouterr().err == (
        f"cloudbr: {mine} is not a tree cloudbr wrote (no manifest.json of it)\n"
    )
    assert snapshot(out) == before  # and no other host was swapped either


def test_an_empty_directory_of_a_hosts_name_is_replaced(out: Path) -> None:
    before = snapshot(out)
    mine = out / "kvm-d12-br"
    empty(mine)
    assert render(out) == 0
    assert snapshot(out).keys() == before.keys()


def test_a_file_of_a_hosts_name_fails_before_any_swap(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = out / "kvm-u18-br"
    empty(mine)
    mine.rmdir()
    mine.write_text("not a tree\n")
    before = snapshot(out)
    assert render(out) == 3
    assert capsys.readouterr().err == (
        f"cloudbr: {mine} exists and is not a directory cloudbr wrote\n"
    )
    assert snapshot(out) == before


def test_prune_removes_only_trees_whose_manifest_names_them(out: Path, tmp_path: Path) -> None:
    foreign = out / "somebody"
    foreign.mkdir()
    (foreign / "manifest.json").write_text("{}\n")
    (foreign / "work").write_text("mine\n")
    linked = out / "linked"
    linked.mkdir()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"host": "linked"}))
    (linked / "manifest.json").symlink_to(elsewhere)
    moved = out / "renamed"
    (out / "kvm-c7-br").rename(moved)  # its manifest names kvm-c7-br, not this directory
    gone = out / "oldhost"
    gone.mkdir()
    (gone / "manifest.json").write_text(json.dumps({"host": "oldhost", "files": []}))
    assert render(out, "--prune") == 0
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted([*HOSTS, "_preseed", "pxe", "linked", "renamed", "somebody"])
    assert elsewhere.exists()
