"""Images built by cloudbr's own diskimage-builder elements, booted by the e2e harness.

`DibImage.for_backend("debian12", "ovs")` names the image `scripts/build-image.sh` makes
from elements/ (IMAGE_LAYOUT=flat: one ext4 filesystem in a qcow2, booted with QEMU
direct kernel boot), plus the test-only probe element tests/e2e/dib/cloudbr-e2e-probe that
runs the harness's check.py and reports on ttyS1. `ensure_images()` builds what is missing.

Cache: `$CLOUDBR_E2E_CACHE/dib-<distro>-<backend>-<key>/`, key = sha256 of every file under
elements/ and tests/e2e/dib/, build-image.sh, requirements-image.txt (the pinned DIB), the
build settings below and the mirror variables. A lock serialises concurrent builds;
superseded keys are deleted.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .image import REPO, cache_root

BUILD_SCRIPT = REPO / "scripts" / "build-image.sh"
ELEMENTS = REPO / "elements"
TEST_ELEMENTS = Path(__file__).resolve().parent / "dib"
PROBE_ELEMENT = "cloudbr-e2e-probe"
BUILD_TIMEOUT_S = 1800
# What build-image.sh is told (part of the key). Networking-only, uncompressed, flat: the
# fastest build that is still exactly the elements' output.
BUILD_ENV = {
    "IMAGE_LAYOUT": "flat",
    "IMAGE_COMPRESS": "0",
    "DIB_CLOUDBR_HYPERVISOR": "0",
    "IMAGE_EXTRA_ELEMENTS": PROBE_ELEMENT,
}
# Taken from the caller's environment (and hashed): where the packages come from.
PASSED_ENV = ("DIB_DISTRIBUTION_MIRROR", "DIB_DEBIAN_SECURITY_MIRROR", "DIB_APT_KEYRING")
# Added to the image's own .cmdline for the harness (same as its own image): a panic ends
# QEMU (-no-reboot) instead of hanging until the timeout, and no Spectre/Meltdown
# mitigations, which cost a lot under TCG and protect nothing in a throw-away test VM.
HARNESS_ARGS = ("panic=1", "mitigations=off")
REQUIRED_ARGS = ("console=ttyS0", "net.ifnames=0", "biosdevname=0")


def _files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    )


def image_key() -> str:
    """Hash of everything that decides the images' content."""
    h = hashlib.sha256()
    for root in (ELEMENTS, TEST_ELEMENTS):
        for path in _files(root):
            # DIB runs executables only: the mode is content too.
            mode = "x" if os.access(path, os.X_OK) else "-"
            name = f"{root.name}/{path.relative_to(root)}"
            h.update(f"{name}\0{mode}\0".encode() + path.read_bytes() + b"\0")
    for path in (BUILD_SCRIPT, REPO / "requirements-image.txt"):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for var, value in sorted(BUILD_ENV.items()):
        h.update(f"{var}={value}\0".encode())
    for var in PASSED_ENV:
        h.update(f"{var}={os.environ.get(var, '')}\0".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class DibImage:
    """One flat image from scripts/build-image.sh (a BaseImage, see image.py).

    `directory` holds <name>.qcow2/.vmlinuz/.initrd/.cmdline/.json/.log; the image may not
    be built yet (`built`, `ensure_images`)."""

    directory: Path
    distro: str
    backend: str

    @classmethod
    def for_backend(cls, distro: str, backend: str, cache: Path | None = None) -> DibImage:
        root = cache or cache_root()
        return cls(root / f"dib-{distro}-{backend}-{image_key()}", distro, backend)

    @property
    def name(self) -> str:
        return f"{self.distro}-{self.backend}"

    def _file(self, suffix: str) -> Path:
        return self.directory / f"{self.name}{suffix}"

    @property
    def built(self) -> bool:
        return all(self._file(s).is_file() for s in (".qcow2", ".vmlinuz", ".initrd", ".cmdline"))

    # -- BaseImage -------------------------------------------------------------------------
    @property
    def disk(self) -> Path:
        return self._file(".qcow2")

    @property
    def disk_format(self) -> str:
        return "qcow2"

    @property
    def kernel(self) -> Path:
        return self._file(".vmlinuz")

    @property
    def initrd(self) -> Path:
        return self._file(".initrd")

    @property
    def cmdline(self) -> str:
        """The image's own direct-boot command line (root=LABEL=..., consoles, ethN names)
        plus HARNESS_ARGS; fails if it lacks what the harness relies on."""
        args = self._file(".cmdline").read_text().split()
        missing = [a for a in REQUIRED_ARGS if not any(x.startswith(a) for x in args)]
        if missing:
            raise ValueError(f"{self._file('.cmdline')}: lacks {' '.join(missing)}")
        return " ".join(args + [a for a in HARNESS_ARGS if a not in args])

    @property
    def injects_rootfs(self) -> bool:
        return False  # the network must come from the seed ISO alone

    # -- building --------------------------------------------------------------------------
    def build(self) -> float:
        """Build into <directory>.tmp with build-image.sh, then rename; returns seconds."""
        tmp = self.directory.with_name(self.directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("IMAGE_", "DIB_CLOUDBR_")) and k != "ELEMENTS_PATH"
        }
        env.update(BUILD_ENV, IMAGE_DIR=str(tmp), IMAGE_NAME=self.name)
        env["ELEMENTS_PATH"] = str(TEST_ELEMENTS)
        # Its output goes to a log (the build runs beside guest scenarios; their lines stay
        # readable), whose end is printed if the build fails.
        log = self.directory.with_name(self.directory.name + ".build.log")
        print(f"e2e: building DIB image {self.directory.name} (log: {log})", flush=True)
        t0 = time.monotonic()
        argv = ["bash", str(BUILD_SCRIPT), "--install-deps", self.distro, self.backend]
        with log.open("w") as out:
            proc = subprocess.run(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_S
            )
        if proc.returncode:
            tail = log.read_text(errors="replace").splitlines()[-40:]
            print("\n".join(f"    {line}" for line in tail), flush=True)
            raise subprocess.CalledProcessError(proc.returncode, argv)
        tmp.rename(self.directory)  # last: a half-built image is never taken for a cached one
        for old in self.directory.parent.glob(f"dib-{self.name}-*"):
            if old != self.directory:  # superseded keys (and stale .tmp dirs): ~1 GiB each
                shutil.rmtree(old, ignore_errors=True)
        return time.monotonic() - t0


def ensure_images(images: Iterable[DibImage], rebuild: bool = False) -> dict[str, float | None]:
    """Build every image that is not cached; image name -> build seconds (None: cached)."""
    done: dict[str, float | None] = {}
    for image in images:
        if image.name in done:
            continue
        image.directory.parent.mkdir(parents=True, exist_ok=True)
        # One build at a time, also across concurrent runs (2 cores; one DIB cache).
        with open(image.directory.parent / ".dib-build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if rebuild and image.directory.exists():
                shutil.rmtree(image.directory)
            done[image.name] = None if image.built else image.build()
    return done
