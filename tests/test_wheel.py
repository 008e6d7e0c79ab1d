"""The templates must ship inside the wheel, not only work from a source checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import EXAMPLES, REPO


def test_wheel_carries_templates_and_renders(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("cloudbr-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("kickstart", "autoinstall", "firstboot"):
        shipped = {n for n in names if n.startswith(f"cloudbr/templates/{folder}/")}
        in_repo = {
            f"cloudbr/templates/{folder}/{p.relative_to(REPO / folder)}"
            for p in (REPO / folder).rglob("*")
            if p.is_file()
        }
        assert shipped == in_repo, folder

    # `cloudbr image` needs the builder, its pins and the DIB elements too.
    for name in (
        "scripts/build-image.sh",
        "scripts/image-platforms.sh",
        "requirements-image.txt",
        "scripts/apt-image.txt",
    ):
        assert f"cloudbr/image/{name}" in names
    assert "cloudbr_drift.py" in names  # cloudbr-verify's comparison, a top-level module
    elements = {p.relative_to(REPO) for p in (REPO / "elements").rglob("*") if p.is_file()}
    assert elements
    assert {n for n in names if n.startswith("cloudbr/image/elements/")} == {
        f"cloudbr/image/{p}" for p in elements
    }

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    # Run from an unrelated directory with the wheel first on the path: the source checkout
    # must not be what answers.
    probe = (
        "import cloudbr, cloudbr_drift, cloudbr.templates as t, sys;"
        "print(cloudbr.__file__); print(cloudbr_drift.__file__); print(t.template_root());"
        "from cloudbr.cli import main;"
        f"sys.exit(main(['render', {str(EXAMPLES / 'lab.yaml')!r}, '-o', {str(tmp_path / 'out')!r}, '-q']))"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    module_file, comparison_file, root = res.stdout.splitlines()
    assert module_file.startswith(str(target))
    assert comparison_file == str(target / "cloudbr_drift.py")
    assert root == str(target / "cloudbr" / "templates")
    assert (tmp_path / "out" / "kvm-c7-ovs" / "manifest.json").is_file()
