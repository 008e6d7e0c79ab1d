"""Harness self-test of phases 3-4 where d-i cannot finish (`--synthetic-disk`).

NOT an install: a stand-in for the disk d-i would leave, so the boot and check machinery
(disk.prepare, boot_and_check) runs on a partitioned disk where the real install stops
early (this machine: no udebs, see tests/e2e/README.md). Partition 1 of a dos-labelled disk
holds the harness image's root filesystem (its own check unit disabled), a GRUB config like
grub-installer's, and e2e-inst's rendered tree written offline with its units enabled:
what cloudbr's late_command lays down. Then it goes through the same path as an installed
disk.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cloudbr.model import Host

from ..cloudbr_cases import enable_units
from ..image import GuestImage
from .disk import debugfs

PART_OFFSET = 1 << 20  # partition 1 at sector 2048, as d-i's partman puts it
CASE_WANTS = "/etc/systemd/system/multi-user.target.wants/cloudbr-e2e-case.service"


def grub_cfg(kernel_release: str) -> str:
    args = "root=/dev/vda1 rootfstype=ext4 rw net.ifnames=0 biosdevname=0 console=ttyS0,115200n8"
    return (
        "menuentry 'Debian GNU/Linux' {\n"
        f"\tlinux\t/boot/vmlinuz-{kernel_release} {args} quiet\n"
        f"\tinitrd\t/boot/initrd.img-{kernel_release}\n"
        "}\n"
    )


def tree_requests(tree: Path) -> list[str]:
    """debugfs requests that lay `tree` down (dirs, files with modes, symlinks)."""
    out: list[str] = []
    for path in sorted(tree.rglob("*")):
        rel = "/" + str(path.relative_to(tree))
        if path.is_symlink():
            out += [f"rm {rel}", f"symlink {rel} {os.readlink(path)}"]
        elif path.is_dir():
            out.append(f"mkdir {rel}")
        else:
            mode = 0o100000 | (path.stat().st_mode & 0o7777)
            out += [f"rm {rel}", f"write {path} {rel}", f"sif {rel} mode 0{mode:o}"]
    return out


def synthetic_disk(work: Path, tree: Path, host: Host) -> Path:
    """work/synthetic.qcow2: the stand-in disk described above."""
    image = GuestImage.ensure()
    raw = work / "synthetic.raw"
    size = image.rootfs.stat().st_size
    subprocess.run(["truncate", "-s", str(size + 2 * PART_OFFSET), str(raw)], check=True)
    layout = f"label: dos\nstart={PART_OFFSET // 512}, size={size // 512}, type=83\n"
    subprocess.run(["sfdisk", "-q", str(raw)], input=layout.encode(), check=True, timeout=60)
    dd = ["dd", f"if={image.rootfs}", f"of={raw}", "bs=1M", f"seek={PART_OFFSET >> 20}"]
    subprocess.run([*dd, "conv=notrunc,sparse", "status=none"], check=True, timeout=600)
    fs = f"{raw}?offset={PART_OFFSET}"
    release = debugfs(fs, "ls /boot").split("vmlinuz-", 1)[1].split()[0]
    (work / "grub.cfg").write_text(grub_cfg(release))
    enable_units(tree, host)
    requests = ["mkdir /boot/grub", f"write {work / 'grub.cfg'} /boot/grub/grub.cfg"]
    requests += [f"rm {CASE_WANTS}", *tree_requests(tree)]
    debugfs(fs, *requests, write=True)
    qcow2 = work / "synthetic.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(qcow2)], check=True)
    raw.unlink()
    return qcow2
