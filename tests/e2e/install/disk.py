"""Phase 3 prep: the installed disk as a harness BaseImage, read and amended offline.

No loop, nbd or guestfs: the qcow2 becomes a raw image (`qemu-img convert`), `sfdisk -J`
lists its partitions, and e2fsprogs' `debugfs` opens the root partition in place
(`disk.raw?offset=N`, the unix io manager's option). From it: GRUB's first menu entry
(`/boot/grub/grub.cfg`, written by d-i's grub-installer and cloudbr's update-grub), whose
kernel, initrd and command line the harness boots directly (-kernel/-append), as GRUB
would. Into it: the test-only probe (tests/e2e/dib/cloudbr-e2e-probe: a unit that runs
the harness's check.py from fw_cfg), the only change to the installed system.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..dib_image import HARNESS_ARGS, PROBE_ELEMENT, REQUIRED_ARGS, TEST_ELEMENTS

PROBE = TEST_ELEMENTS / PROBE_ELEMENT / "static"
PROBE_FILES = {
    "etc/systemd/system/cloudbr-e2e-probe.service": 0o100644,
    "usr/local/sbin/cloudbr-e2e-probe": 0o100755,
}
PROBE_WANTS = "/etc/systemd/system/multi-user.target.wants/cloudbr-e2e-probe.service"
EXT_TYPES = ("83", "0fc63daf-8483-4772-8e79-3d69d8477de4")  # Linux (dos, gpt)


class DiskError(RuntimeError):
    pass


@dataclass(frozen=True)
class BootEntry:
    kernel: str  # path inside the filesystem
    initrd: str
    args: list[str]


def grub_entry(grub_cfg: str) -> BootEntry:
    """The first menuentry's linux/initrd lines (what GRUB boots by default, timeout 5)."""
    linux = re.search(r"^\s*linux\s+(\S+)(.*)$", grub_cfg, re.M)
    initrd = re.search(r"^\s*initrd\s+(\S+)", grub_cfg, re.M)
    if linux is None or initrd is None:
        raise DiskError("grub.cfg: no linux/initrd line")
    return BootEntry(linux[1], initrd[1], linux[2].split())


def debugfs(image: str, *requests: str, write: bool = False) -> str:
    argv = ["debugfs", *(["-w"] if write else []), "-f", "-", image]
    proc = subprocess.run(
        argv, input="\n".join(requests) + "\n", capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        raise DiskError(f"debugfs {image}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def cat(image: str, path: str) -> bytes:
    proc = subprocess.run(
        ["debugfs", "-R", f"cat {path}", image], capture_output=True, timeout=300, check=False
    )
    if proc.returncode != 0 or b"File not found" in proc.stderr:
        raise DiskError(f"{image}: no {path}")
    return proc.stdout


def ext_partitions(raw: Path) -> list[int]:
    """Byte offsets of the Linux partitions of a raw disk image."""
    out = subprocess.run(
        ["sfdisk", "-J", str(raw)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    table = json.loads(out)["partitiontable"]
    sector = int(table.get("sectorsize", 512))
    return [int(p["start"]) * sector for p in table["partitions"] if p["type"].lower() in EXT_TYPES]


@dataclass(frozen=True)
class InstalledDisk:
    """A BaseImage (image.py): the installed disk, booted the way its GRUB would."""

    directory: Path

    @property
    def disk(self) -> Path:
        return self.directory / "disk.raw"

    @property
    def disk_format(self) -> str:
        return "raw"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    @property
    def cmdline(self) -> str:
        args = (self.directory / "cmdline").read_text().split()
        missing = [a for a in REQUIRED_ARGS if not any(x.startswith(a) for x in args)]
        if missing:
            raise DiskError(f"the installed system's command line lacks {' '.join(missing)}")
        return " ".join(args + [a for a in HARNESS_ARGS if a not in args])

    @property
    def injects_rootfs(self) -> bool:
        return False  # the network must be the installed system's own


def prepare(qcow2: Path, directory: Path) -> InstalledDisk:
    """Raw copy of the installed disk, its GRUB entry's kernel/initrd/args, the probe."""
    directory.mkdir(parents=True, exist_ok=True)
    disk = InstalledDisk(directory)
    subprocess.run(
        ["qemu-img", "convert", "-O", "raw", str(qcow2), str(disk.disk)], check=True, timeout=600
    )
    for offset in ext_partitions(disk.disk):
        fs = f"{disk.disk}?offset={offset}"
        try:
            entry = grub_entry(cat(fs, "/boot/grub/grub.cfg").decode())
        except DiskError:
            continue
        disk.kernel.write_bytes(cat(fs, entry.kernel))
        disk.initrd.write_bytes(cat(fs, entry.initrd))
        (directory / "cmdline").write_text(" ".join(entry.args) + "\n")
        inject_probe(fs)
        return disk
    raise DiskError(f"{qcow2}: no Linux partition with /boot/grub/grub.cfg")


def inject_probe(fs: str) -> None:
    requests = []
    for rel, mode in PROBE_FILES.items():
        requests += [f"rm /{rel}", f"write {PROBE / rel} /{rel}", f"sif /{rel} mode 0{mode:o}"]
    requests += [f"rm {PROBE_WANTS}", f"symlink {PROBE_WANTS} /{next(iter(PROBE_FILES))}"]
    debugfs(fs, *requests, write=True)
    for rel in PROBE_FILES:
        if cat(fs, f"/{rel}") != (PROBE / rel).read_bytes():
            raise DiskError(f"{fs}: probe file /{rel} was not written")
