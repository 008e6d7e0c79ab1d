"""The resolved boot server (`site.pxe`): what dnsmasq, nginx and the boot entries are made of."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from cloudbr.model import Distro

# HTTP_URL/boot/<path>: the installer files of tftp_root, over HTTP. Without path_secret a
# host's documents are at HTTP_URL/<host>/: no PXE host may be named so.
BOOT_PREFIX = "boot"
DIR = "pxe"  # OUT/pxe/: site-level, beside the OUT/<host>/ trees
CHAIN_SCRIPT = "boot.ipxe"
CHAIN_URL_TAIL = f"{DIR}/{CHAIN_SCRIPT}"  # iPXE's chain script: HTTP_URL/pxe/boot.ipxe
BOOTP_FILE_MAX = 127  # characters of a boot file name: BOOTP's 128-byte `file` with its NUL


class PxeDhcpMode(StrEnum):
    DHCP = "dhcp"  # dnsmasq is the provisioning network's DHCP server
    PROXY = "proxy"  # beside an existing DHCP server: boot information only


class PxeLoader(StrEnum):
    IPXE = "ipxe"  # firmware PXE -> iPXE -> per-MAC iPXE script
    NATIVE = "native"  # firmware PXE -> pxelinux (BIOS) / GRUB (UEFI) per-MAC files


@dataclass(frozen=True)
class InstallerFiles:
    kernel: str  # relative to the TFTP root; also served over HTTP
    initrd: str


@dataclass(frozen=True)
class PxeHost:
    hostname: str
    mac: str  # the install NIC's
    nic: str
    address: ipaddress.IPv4Interface  # install address = the management address


@dataclass(frozen=True)
class PxeSite:
    """The boot server (site.pxe): what dnsmasq, nginx and the boot entries are made of."""

    server: ipaddress.IPv4Interface
    http_url: str  # no trailing slash
    document_root: str  # OUT on the boot server
    tftp_root: str
    dhcp_mode: PxeDhcpMode
    dhcp_range: tuple[ipaddress.IPv4Address, ipaddress.IPv4Address] | None
    lease_time: str
    loader: PxeLoader
    installers: tuple[tuple[Distro, InstallerFiles], ...]
    console: str | None  # e.g. ttyS0,115200: the installer's serial console
    path_secret: bytes | None
    hosts: tuple[PxeHost, ...]

    def installer(self, distro: Distro) -> InstallerFiles:
        return dict(self.installers)[distro]
