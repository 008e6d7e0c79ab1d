"""cloudbr.carriers.embed: the script really writes the tree, byte for byte and mode for mode,
under every shell an installer may use, whatever the files contain."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbr.carriers.embed import install_script
from cloudbr.files import File, FileMap

NASTY = (
    b"#!/bin/sh\n"
    b"EOF\n"
    b"%end\n"
    b"  %end\n"
    b"%include /etc/passwd\n"
    b"echo $(touch /tmp/cloudbr-pwned) `touch /tmp/cloudbr-pwned` $HOME ${PATH}\n"
    b"'single' \"double\" \\backslash\n"
    b"no trailing newline; \x00 nul \xff\xfe binary"
)

TRICKY_TREE: FileMap = {
    "/etc/sysconfig/network-scripts/ifcfg-eth0": File(b"DEVICE=eth0\nONBOOT=yes\n", 0o644),
    "/etc/nasty": File(NASTY, 0o600),
    "/etc/empty": File(b"", 0o644),
    "/usr/local/bin/tool": File(b"#!/bin/sh\necho hi\n", 0o755),
    "/etc/odd name/with 'quotes' and $(dollar) `ticks`": File(b"x\n", 0o640),
    "/etc/-leading-dash": File(b"dash\n", 0o444),
}

SHELLS = [s for s in ("sh", "bash", "dash", "busybox") if shutil.which(s)]


def tree_on_disk(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: "/relative/path" -> (bytes, permission bits)."""
    out = {}
    for p in root.rglob("*"):
        if p.is_file() or p.is_symlink():
            out["/" + str(p.relative_to(root))] = (p.read_bytes(), p.stat().st_mode & 0o7777)
    return out


def expected(tree: FileMap) -> dict[str, tuple[bytes, int]]:
    return {path: (f.content, f.mode) for path, f in tree.items()}


def run(script: str, root: Path, shell: str = "sh") -> None:
    argv = (
        [shell, "sh", "-s", "--", str(root)]
        if shell == "busybox"
        else [shell, "-s", "--", str(root)]
    )
    subprocess.run(argv, input=script.encode(), check=True, capture_output=True)


@pytest.mark.parametrize("shell", SHELLS)
def test_writes_exact_tree_under_each_shell(tmp_path: Path, shell: str) -> None:
    pwned = Path("/tmp/cloudbr-pwned")
    pwned.unlink(missing_ok=True)
    run(install_script(TRICKY_TREE), tmp_path, shell)
    assert tree_on_disk(tmp_path) == expected(TRICKY_TREE)  # no temp files left either
    assert not pwned.exists(), "file content was executed by the shell"


def test_default_root_is_baked_in(tmp_path: Path) -> None:
    tree = {"/a/b": File(b"x", 0o600)}
    subprocess.run(
        ["sh", "-s"], input=install_script(tree, root=str(tmp_path)).encode(), check=True
    )
    assert tree_on_disk(tmp_path) == expected(tree)


def test_replaces_existing_files_content_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "etc/hosts"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old content that is longer than the new one\n" * 10)
    target.chmod(0o777)
    tree = {"/etc/hosts": File(b"new\n", 0o644)}
    run(install_script(tree), tmp_path)
    assert tree_on_disk(tmp_path) == expected(tree)


def test_dir_modes_are_exact(tmp_path: Path) -> None:
    tree = {"/root/.ssh/authorized_keys": File(b"ssh-ed25519 AAAA x\n", 0o600)}
    run(install_script(tree, dir_modes={"/root/.ssh": 0o700}), tmp_path)
    assert (tmp_path / "root/.ssh").stat().st_mode & 0o7777 == 0o700
    assert (tmp_path / "root").stat().st_mode & 0o7777 == 0o755
    assert tree_on_disk(tmp_path) == expected(tree)


def test_passes_shellcheck_as_posix_sh() -> None:
    out = subprocess.run(
        ["shellcheck", "-s", "sh", "-"],
        input=install_script(TRICKY_TREE, dir_modes={"/root/.ssh": 0o700}),
        text=True,
        capture_output=True,
    )
    assert out.returncode == 0, out.stdout


def test_no_line_can_be_read_as_installer_syntax() -> None:
    # Kickstart ends a %post at any line whose first word is %end and acts on %include;
    # preseed and heredocs end at their delimiter. Only fixed code and base64 may appear.
    for line in install_script(TRICKY_TREE).splitlines():
        assert not line.lstrip().startswith("%"), line
        assert line.strip() not in ("EOF", "%end")


@pytest.mark.parametrize(
    "path",
    [
        "relative/path",
        "/etc/../shadow",
        "/etc/./x",
        "/etc//x",
        "/etc/",
        "/etc/new\nline",
        "/etc/\x1b",
    ],
)
def test_refuses_unsafe_paths(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        install_script({path: File(b"x")})


def test_refuses_relative_root() -> None:
    with pytest.raises(ValueError, match="root"):
        install_script({}, root="target")


path_part = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", "..") and s.isprintable())


@settings(
    deadline=None,  # runs a shell per example; speed is not what this test measures
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    files=st.dictionaries(
        st.lists(path_part, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts)),
        st.tuples(st.binary(max_size=300), st.sampled_from([0o600, 0o640, 0o644, 0o755, 0o700])),
        max_size=5,
    )
)
def test_round_trip_any_content(files: dict[str, tuple[bytes, int]]) -> None:
    # A path may not be both a file and a directory.
    paths = sorted(files)
    if any(b.startswith(a + "/") for a in paths for b in paths):
        return
    tree = {p: File(c, m) for p, (c, m) in files.items()}
    script = install_script(tree)
    assert all(not line.lstrip().startswith("%") for line in script.splitlines())
    with tempfile.TemporaryDirectory() as tmp:
        run(script, Path(tmp))
        assert tree_on_disk(Path(tmp)) == expected(tree)
