"""Debian's netboot installer (package debian-installer-12-netboot-amd64) and its initrd
with a preseed file inside.

File preseeding through the initrd: d-i reads /preseed.cfg from its initramfs before any
component runs (env-preseed/file-preseed in the `preseed` package), so the static network
answers are there when netcfg starts, and nothing races it. The kernel unpacks every cpio
archive concatenated to the initrd, so the preseed is appended to a copy of Debian's
initrd.gz as one more (gzip'd, newc) archive; Debian's file is never changed.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

IMAGES = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")


@dataclass(frozen=True)
class Netboot:
    directory: Path = IMAGES

    @property
    def kernel(self) -> Path:
        return self.directory / "linux"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.gz"

    @property
    def kernel_release(self) -> str:
        """`uname -r` of the installer's kernel, from the bzImage header (boot protocol:
        the version string's offset - 0x200 is at 0x20e)."""
        data = self.kernel.read_bytes()
        (offset,) = struct.unpack_from("<H", data, 0x20E)
        text = data[offset + 0x200 : offset + 0x200 + 256]
        return text.split(b" ", 1)[0].decode()

    @property
    def kernel_abi(self) -> str:
        """6.1.0-50-amd64 -> 6.1.0-50: the ABI kernel-module udebs are named after."""
        release = self.kernel_release
        return release.rsplit("-", 1)[0]

    def preseeded_initrd(
        self, preseed: bytes, out: Path, beside: dict[str, bytes] | None = None
    ) -> Path:
        """Debian's initrd.gz + a cpio archive holding /preseed.cfg (mode 0600) and `beside`:
        the files its early_command fetches from next to it (OUT/_preseed/'s programs)."""
        files = {"preseed.cfg": preseed, **(beside or {})}
        out.write_bytes(self.initrd.read_bytes() + gzip.compress(newc(files)))
        return out


def newc(files: dict[str, bytes], mode: int = 0o100600) -> bytes:
    """A cpio archive in the kernel's initramfs format (newc) of regular files owned by
    root."""
    out = b""
    for ino, (name, data) in enumerate([*files.items(), ("TRAILER!!!", b"")], start=1):
        trailer = name == "TRAILER!!!"
        fields = (
            0 if trailer else ino,
            0 if trailer else mode,
            0,  # uid
            0,  # gid
            1 if not trailer else 0,  # nlink
            0,  # mtime: reproducible
            len(data),
            0,
            0,
            0,
            0,
            len(name) + 1,
            0,  # check
        )
        header = b"070701" + b"".join(b"%08x" % f for f in fields)
        out += _pad(header + name.encode() + b"\0") + _pad(data)
    return out


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)
