"""Plumbing of booting a diskimage-builder image in the harness (no build, no boot here: the
real proof is the `cloudbr-image-pair` scenario of `python -m tests.e2e`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from . import dib_image
from .dib_image import PROBE_ELEMENT, TEST_ELEMENTS, DibImage
from .guest import Guest, GuestError
from .harness import GuestImage
from .image import KERNEL_APPEND

PROBE = TEST_ELEMENTS / PROBE_ELEMENT
CMDLINE = "root=LABEL=cloudimg-rootfs ro console=tty0 console=ttyS0,115200 net.ifnames=0"


def fake_image(tmp_path: Path, cmdline: str = CMDLINE + " biosdevname=0") -> DibImage:
    image = DibImage(tmp_path / "dib", "debian12", "ovs")
    image.directory.mkdir()
    for suffix in (".qcow2", ".vmlinuz", ".initrd"):
        (image.directory / f"debian12-ovs{suffix}").write_bytes(b"x")
    (image.directory / "debian12-ovs.cmdline").write_text(cmdline + "\n")
    return image


def test_dib_image_paths_and_cmdline(tmp_path: Path) -> None:
    image = fake_image(tmp_path)
    assert image.built
    assert image.disk.name == "debian12-ovs.qcow2"
    assert image.disk_format == "qcow2"
    assert (image.kernel.name, image.initrd.name) == ("debian12-ovs.vmlinuz", "debian12-ovs.initrd")
    # The image's own line first (root by label, its consoles), then what the harness adds.
    assert image.cmdline == CMDLINE + " biosdevname=0 panic=1 mitigations=off"
    assert not image.injects_rootfs


def test_dib_image_cmdline_must_keep_serial_console(tmp_path: Path) -> None:
    image = fake_image(tmp_path, "root=LABEL=cloudimg-rootfs ro console=tty0")
    with pytest.raises(ValueError, match=r"lacks console=ttyS0 net\.ifnames=0 biosdevname=0"):
        _ = image.cmdline


def test_dib_image_not_built(tmp_path: Path) -> None:
    image = DibImage.for_backend("debian12", "linuxbridge", cache=tmp_path)
    assert image.directory.name == f"dib-debian12-linuxbridge-{dib_image.image_key()}"
    assert not image.built


def test_guest_boots_dib_image_from_overlay_without_rootfs(tmp_path: Path) -> None:
    image = fake_image(tmp_path)
    guest = Guest(image, "g1", tmp_path, [], case={"expect": {}})
    argv = guest._argv(tmp_path / "qmp.sock")
    assert argv[argv.index("-append") + 1] == image.cmdline
    assert argv[argv.index("-kernel") + 1] == str(image.kernel)
    fw_cfg = [argv[i + 1] for i, a in enumerate(argv) if a == "-fw_cfg"]
    # Only the check payload: this image has no injector, its network comes from the seed.
    assert fw_cfg == [f"name=opt/cloudbr/case.tar,file={guest.dir / 'case.tar'}"]
    with pytest.raises(GuestError, match="cannot inject"):
        Guest(image, "g2", tmp_path, [], rootfs=tmp_path)


def test_guest_image_keeps_its_boot(tmp_path: Path) -> None:
    image = GuestImage(tmp_path / "img")
    assert (image.disk, image.disk_format, image.cmdline) == (image.rootfs, "raw", KERNEL_APPEND)
    argv = Guest(image, "g1", tmp_path, [])._argv(tmp_path / "qmp.sock")
    fw_cfg = [argv[i + 1].split(",")[0] for i, a in enumerate(argv) if a == "-fw_cfg"]
    assert fw_cfg == ["name=opt/cloudbr/rootfs.tar", "name=opt/cloudbr/case.tar"]


def test_key_follows_elements_and_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elements = tmp_path / "elements"
    script = elements / "e" / "install.d" / "10-x"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/bash\n")
    monkeypatch.setattr(dib_image, "ELEMENTS", elements)
    keys = {dib_image.image_key()}
    script.chmod(0o755)  # DIB runs only executables: the mode changes the image
    keys.add(dib_image.image_key())
    script.write_text("#!/bin/bash\ntrue\n")
    keys.add(dib_image.image_key())
    monkeypatch.setenv("DIB_DISTRIBUTION_MIRROR", "http://mirror.example/debian")
    keys.add(dib_image.image_key())
    assert len(keys) == 4


def test_probe_element_is_only_the_probe() -> None:
    """Test-only and network-neutral: exactly these files, none of them network config."""
    files = sorted(str(p.relative_to(PROBE)) for p in PROBE.rglob("*") if p.is_file())
    assert files == [
        "README.rst",
        "element-deps",
        "install.d/80-cloudbr-e2e-probe",
        "static/etc/systemd/system/cloudbr-e2e-probe.service",
        "static/usr/local/sbin/cloudbr-e2e-probe",
    ]
    assert (PROBE / "element-deps").read_text().split() == ["install-static"]
    probe = (PROBE / "static/usr/local/sbin/cloudbr-e2e-probe").read_text()
    # Only the test payload is taken from case.tar (not its /etc/machine-id).
    assert 'tar -x -p -C / -f "$raw" opt/cloudbr-e2e;' in probe
    assert "/sys/firmware/qemu_fw_cfg/by_name/opt/cloudbr" in probe


@pytest.mark.parametrize(
    "script",
    [PROBE / "install.d/80-cloudbr-e2e-probe", PROBE / "static/usr/local/sbin/cloudbr-e2e-probe"],
    ids=lambda p: p.name,
)
def test_probe_scripts_shellcheck(script: Path) -> None:
    assert shutil.which("shellcheck"), "shellcheck missing: `make test` installs it"
    assert script.stat().st_mode & 0o111, f"{script} must be executable (DIB runs executables)"
    subprocess.run(["shellcheck", str(script)], check=True)
