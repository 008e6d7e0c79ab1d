"""What a guest boots: the cached Debian 12 guest image (built once by scripts/e2e-image.sh)
or any other `BaseImage` (e.g. a diskimage-builder image, see dib_image.py)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "e2e-image.sh"
GUEST_DIR = Path(__file__).resolve().parent / "guest"
# Files baked into the image: any change to them must produce a new cache key.
# check.py is not baked (it travels in case.tar), so editing it needs no rebuild.
BAKED = (
    "packages.txt",
    "customize.sh",
    "initramfs-hook",
    "initramfs-local-bottom",
    "cloudbr-e2e-case.service",
    "cloud.cfg",
    "autologin.conf",
)
BUILD_TIMEOUT_S = 1800
# Direct kernel boot of the harness image: an unpartitioned ext4 on the first virtio disk.
KERNEL_APPEND = (
    "root=/dev/vda rootfstype=ext4 rw console=ttyS0,115200 net.ifnames=0 biosdevname=0 "
    "panic=1 quiet loglevel=4 mitigations=off"
)


class BaseImage(Protocol):
    """What a Guest boots with QEMU direct kernel boot. `disk` is never written: each guest
    gets a qcow2 overlay on it, attached as the first virtio disk (/dev/vda)."""

    @property
    def disk(self) -> Path: ...

    @property
    def disk_format(self) -> str: ...  # qemu-img format of `disk`: "raw", "qcow2"

    @property
    def kernel(self) -> Path: ...

    @property
    def initrd(self) -> Path: ...

    @property
    def cmdline(self) -> str: ...  # must keep console=ttyS0 (ttyS1 carries the results)

    @property
    def injects_rootfs(self) -> bool:
        """Whether its initramfs unpacks the fw_cfg rootfs.tar before systemd starts."""
        ...


def cache_root() -> Path:
    env = os.environ.get("CLOUDBR_E2E_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "cloudbr-e2e"


def image_key() -> str:
    """Hash of everything that decides the image's content (script, packages, baked files)."""
    h = hashlib.sha256()
    for path in (BUILD_SCRIPT, *(GUEST_DIR / name for name in BAKED)):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    # The mirror and suite change what gets installed, so they are part of the key too.
    for var in ("CLOUDBR_E2E_MIRROR", "CLOUDBR_E2E_SUITE"):
        h.update(f"{var}={os.environ.get(var, '')}\0".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class GuestImage:
    """Paths of one built image: raw ext4 root (never written: guests use overlays)."""

    directory: Path

    @property
    def rootfs(self) -> Path:
        return self.directory / "rootfs.ext4"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    # -- BaseImage -------------------------------------------------------------------------
    @property
    def disk(self) -> Path:
        return self.rootfs

    @property
    def disk_format(self) -> str:
        return "raw"

    @property
    def cmdline(self) -> str:
        return KERNEL_APPEND

    @property
    def injects_rootfs(self) -> bool:
        return True

    @classmethod
    def ensure(cls, cache: Path | None = None, rebuild: bool = False) -> GuestImage:
        """Return the cached image for the current key, building it (once) if needed."""
        root = cache or cache_root()
        root.mkdir(parents=True, exist_ok=True)
        final = root / f"debian12-{image_key()}"
        # A lock so two concurrent runs don't both spend 90 s building the same image.
        with open(root / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if rebuild and final.exists():
                shutil.rmtree(final)
            if not (final / "rootfs.ext4").exists():
                cls._build(final)
        return cls(final)

    @staticmethod
    def _build(final: Path) -> None:
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"e2e: building guest image {final.name} (mmdebstrap, ~1-2 min)", file=sys.stderr)
        subprocess.run(["bash", str(BUILD_SCRIPT), str(tmp)], check=True, timeout=BUILD_TIMEOUT_S)
        # Rename last so a half-built image is never mistaken for a cached one.
        tmp.rename(final)
        for old in final.parent.glob("debian12-*"):
            if old != final:  # superseded keys: ~1 GiB each
                shutil.rmtree(old, ignore_errors=True)
