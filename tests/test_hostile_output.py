"""Output directories that fight back: a file, a symlink, a mount point, a full or read-only
filesystem (real tmpfs mounts in a private mount namespace), concurrent renders, leftovers of
killed runs, hosts that left the inventory, and bugs: exit 3 with one line, OUT as it was."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from cloudbr import cli, pipeline, writer
from tests.conftest import EXAMPLES
from tests.support.cli_run import run_cli
from tests.test_cli import snapshot

LAB = EXAMPLES / "lab.yaml"
ONE = EXAMPLES / "seed-centos7-bridge.yaml"
CLOUDBR = [sys.executable, "-m", "cloudbr"]


def render(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("render", *args)


def in_mount_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) where $MNT is a fresh 1 MiB tmpfs, unseen outside this process."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    body = f"set -eu\nmount -t tmpfs -o size=1m tmpfs {mnt}\nMNT={mnt}\n" + textwrap.dedent(script)
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", body],
        capture_output=True,
        text=True,
        env=dict(os.environ, CLOUDBR=" ".join(CLOUDBR), LAB=str(LAB), ONE=str(ONE)),
    )


def test_out_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("precious\n")
    res = render(str(ONE), "-o", str(out))
    assert (res.returncode, res.stderr) == (3, f"cloudbr: {out} exists and is not a directory\n")
    assert out.read_text() == "precious\n"


def test_out_may_be_a_symlink_to_a_directory(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "out").symlink_to(real)
    assert render(str(ONE), "-o", str(tmp_path / "out"), "-q").returncode == 0
    assert render(str(ONE), "-o", str(tmp_path / "out"), "-q").returncode == 0
    assert (tmp_path / "out").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["kvmhost1"]


def test_out_may_be_a_mount_point(tmp_path: Path) -> None:
    res = in_mount_namespace(
        """
        $CLOUDBR render "$ONE" -o "$MNT" -q
        $CLOUDBR render "$ONE" -o "$MNT" -q
        mountpoint -q "$MNT" && echo still-a-mount-point
        ls -A "$MNT"
        """,
        tmp_path,
    )
    assert (res.returncode, res.stderr) == (0, "")
    assert res.stdout.split() == ["still-a-mount-point", "kvmhost1"]


def test_full_filesystem_is_one_line_and_leaves_out_as_it_was(tmp_path: Path) -> None:
    res = in_mount_namespace(
        """
        $CLOUDBR render "$ONE" -o "$MNT/out" -q
        before=$(cd "$MNT/out" && find . -type f -exec sha256sum {} + | sort)
        set +e
        $CLOUDBR render "$LAB" -o "$MNT/out" -q
        echo "exit=$?"
        set -e
        after=$(cd "$MNT/out" && find . -type f -exec sha256sum {} + | sort)
        [ "$before" = "$after" ] && echo unchanged
        ls -A "$MNT/out"
        """,
        tmp_path,
    )
    assert res.stderr == "cloudbr: No space left on device\n"
    assert res.stdout.split() == ["exit=3", "unchanged", "kvmhost1"]


def test_read_only_filesystem_is_one_line(tmp_path: Path) -> None:
    res = in_mount_namespace(
        """
        $CLOUDBR render "$ONE" -o "$MNT/out" -q
        mount -o remount,ro "$MNT"
        set +e
        $CLOUDBR render "$ONE" -o "$MNT/out" -q
        echo "exit=$?"
        """,
        tmp_path,
    )
    mnt = tmp_path / "mnt"
    assert res.stdout == "exit=3\n"
    assert res.stderr.startswith(f"cloudbr: {mnt}/out/.cloudbr-stage-")
    assert res.stderr.endswith(": Read-only file system\n")
    assert res.stderr.count("\n") == 1


def test_a_second_render_waits_for_the_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a running render holds
    with subprocess.Popen(
        [*CLOUDBR, "render", str(ONE), "-o", str(out), "-q"],
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        waiting = proc.stderr.readline()
        assert waiting == f"cloudbr: waiting for another render into {out} to finish\n"
        assert list(out.iterdir()) == []  # nothing written while the other holds OUT
        os.close(fd)
        assert proc.wait(timeout=120) == 0
    assert sorted(p.name for p in out.iterdir()) == ["kvmhost1"]


def test_concurrent_renders_of_different_hosts_keep_both(tmp_path: Path) -> None:
    out = tmp_path / "out"
    procs = [
        subprocess.Popen([*CLOUDBR, "render", str(LAB), "-o", str(out), "-q", "--host", name])
        for name in ("kvm-c7-br", "kvm-d12-ovs")
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    # pxe/ and _preseed/: the lab's site-level trees, written by both.
    names = sorted(p.name for p in out.iterdir())
    assert names == ["_preseed", "kvm-c7-br", "kvm-d12-ovs", "pxe"]


def test_stage_directories_of_killed_runs_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert render(str(ONE), "-o", str(out), "-q").returncode == 0
    stale = out / ".cloudbr-stage-killed1"
    (stale / "kvmhost1/rootfs").mkdir(parents=True)
    (stale / "kvmhost1/rootfs/half").write_text("half-written")
    (out / ".operator-notes").write_text("not ours\n")
    assert render(str(ONE), "-o", str(out), "-q").returncode == 0
    assert sorted(p.name for p in out.iterdir()) == [".operator-notes", "kvmhost1"]


def test_hosts_that_left_the_inventory_stay_unless_pruned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert render(str(LAB), "-o", str(out), "-q").returncode == 0
    (out / "not-a-host").mkdir()  # no manifest.json: never pruned
    assert render(str(ONE), "-o", str(out), "-q").returncode == 0
    # 6 lab hosts, the lab's pxe/ and _preseed/, not-a-host, kvmhost1
    assert len(list(out.iterdir())) == 10
    res = render(str(ONE), "-o", str(out), "--prune", "--host", "kvmhost1")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["kvmhost1", "not-a-host"]
    removed = [
        line
        for line in res.stdout.splitlines()
        if line.endswith("removed (no longer in the inventory)")
    ]
    assert [line.split(":")[0] for line in removed] == [
        str(out / name)
        # ONE has no site.pxe nor an OVS preseed host: the lab's pxe/ and _preseed/ go too.
        for name in sorted(
            [
                "_preseed",
                "kvm-c7-br",
                "kvm-c7-ovs",
                "kvm-u18-br",
                "kvm-u18-ovs",
                "kvm-d12-br",
                "kvm-d12-ovs",
                "pxe",
            ]
        )
    ]


def test_the_same_host_twice_is_rendered_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = render(str(ONE), "-o", str(out), "--host", "kvmhost1", "--host", "kvmhost1.mylab.local")
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["kvmhost1"]


def test_host_directory_replaced_by_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "kvmhost1").write_text("operator's file\n")
    res = render(str(ONE), "-o", str(out), "-q")
    assert (res.returncode, res.stderr) == (
        3,
        f"cloudbr: {out / 'kvmhost1'} exists and is not a directory cloudbr wrote\n",
    )
    assert sorted(p.name for p in out.iterdir()) == ["kvmhost1"]
    assert (out / "kvmhost1").read_text() == "operator's file\n"


def test_without_renameat2_the_tree_is_still_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert cli.main(["render", str(ONE), "-o", str(out), "-q"]) == 0
    before = snapshot(out)
    (out / "kvmhost1/rootfs/etc/hostname").write_text("tampered\n")
    monkeypatch.setattr(writer, "_renameat2", lambda: None)
    assert cli.main(["render", str(ONE), "-o", str(out), "-q"]) == 0
    assert snapshot(out) == before


def test_the_swap_exchanges_old_and_new_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert cli.main(["render", str(ONE), "-o", str(out), "-q"]) == 0
    (out / "kvmhost1/old-marker").write_text("old\n")
    seen: list[tuple[bool, bool]] = []
    real = writer._exchange

    def watching(a: Path, b: Path) -> bool:
        done = real(a, b)
        # Right after the one call: OUT/kvmhost1 is the whole new tree, the old one is staged.
        seen.append(((b / "manifest.json").is_file(), (a / "old-marker").is_file()))
        assert not (b / "old-marker").exists()
        return done

    monkeypatch.setattr(writer, "_exchange", watching)
    assert cli.main(["render", str(ONE), "-o", str(out), "-q"]) == 0
    assert seen == [(True, True)]


def test_an_internal_error_is_one_line_with_the_traceback_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(host: object) -> None:
        raise RuntimeError("renderer bug\nsecond line")

    monkeypatch.setattr(pipeline, "render_host", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = tmp_path / "out"
    assert cli.main(["render", str(ONE), "-o", str(out)]) == 3
    err = capsys.readouterr().err
    (saved,) = tmp_path.glob("cloudbr-traceback-*.txt")
    assert err == (
        "cloudbr: internal error: RuntimeError: renderer bug second line "
        f"(traceback saved to {saved})\n"
    )
    assert "Traceback (most recent call last)" in saved.read_text()
    assert list(out.iterdir()) == []


def test_everything_is_synced_to_disk_before_the_first_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUDBR_UNSAFE_IO")
    events: list[str] = []
    real_sync, real_swap, real_libc = writer._sync_filesystem, writer._swap_in, writer._libc

    def libc(name: str) -> object:
        fn = real_libc(name)
        assert fn is not None
        if name != "syncfs":
            return fn

        def syncfs(fd: int) -> int:
            events.append("syncfs")
            return fn(fd)

        return syncfs

    def sync(path: Path) -> None:
        assert path.parent == out
        assert path.name.startswith(".cloudbr-stage-")
        real_sync(path)

    def swap(out_: Path, stage: Path, name: str) -> None:
        events.append(f"swap {name}")
        real_swap(out_, stage, name)

    out = tmp_path / "out"
    monkeypatch.setattr(writer, "_libc", libc)
    monkeypatch.setattr(writer, "_sync_filesystem", sync)
    monkeypatch.setattr(writer, "_swap_in", swap)
    assert cli.main(["render", str(LAB), "-o", str(out), "-q", "--host", "kvm-c7-br"]) == 0
    # pxe/: the lab's site.pxe; _preseed/: its OVS preseed hosts' first-boot program
    assert events == ["syncfs", "swap kvm-c7-br", "swap pxe", "swap _preseed"]
