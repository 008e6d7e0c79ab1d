"""`site.pxe`: the boot server's settings (input schema) and their rules (resolve).

Kept apart from the host schema and resolver: `parse_inventory` calls `resolve_pxe` after
the hosts are resolved, and the result is the model's `Inventory.pxe`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cloudbr import platforms
from cloudbr.inventory.source import Path, Problem
from cloudbr.model import Distro, Host
from cloudbr.pxe_model import (
    BOOT_PREFIX,
    BOOTP_FILE_MAX,
    CHAIN_URL_TAIL,
    InstallerFiles,
    PxeDhcpMode,
    PxeHost,
    PxeLoader,
    PxeSite,
)
from cloudbr.topology import install_nic

# Paths that reach nginx and dnsmasq configuration and boot lines: absolute, plain
# characters only (no spaces, quotes, ';', '{', '#', '$' or '..').
_ABS_PATH = re.compile(r"^(/[A-Za-z0-9_.+-]+)+/?$")
_REL_PATH = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$")
_SECRET = re.compile(r"^[A-Za-z0-9_+/=.-]{32,256}$")
# A hostname `pxe` would be written to OUT/pxe/, where the site-level PXE files go.
RESERVED_HOSTNAMES = frozenset({"pxe"})
# dnsmasq's dhcp-host reads these as a lease time (digits, then at most one of w/d/h/m/s) or a
# keyword, not as the host's name (option.c, dhcp-host parsing; `ignore` never answers it).
DNSMASQ_WORDS = re.compile(r"[0-9]+[wdhmsWDHMS]?|ignore|infinite")

# The rendered platforms' installer files below tftp_root (the registry's defaults).
DEFAULT_INSTALLERS: dict[Distro, InstallerFiles] = {
    p.id: InstallerFiles(p.installer.pxe_kernel, p.installer.pxe_initrd)
    for p in platforms.rendered()
}


def _no_dot_segments(value: str) -> str:
    """No '.' or '..' segment: nginx matches locations on the normalised URI, so a path that
    holds one would never match its own location."""
    found = {".", ".."} & set(value.split("/"))
    if found:
        raise ValueError(f"{value!r}: {'..' if '..' in found else '.'!r} is not allowed in a path")
    return value


def _abs_path(value: str) -> str:
    if not _ABS_PATH.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an absolute path of letters, digits and '_', '.', '+', '-'"
        )
    return _no_dot_segments(value).rstrip("/") or "/"


def _rel_path(value: str) -> str:
    if not _REL_PATH.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a relative path (inside tftp_root) of letters, digits and "
            "'_', '.', '+', '-'"
        )
    return _no_dot_segments(value)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    ok = re.fullmatch(r"http://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9_.+-]+)*/?", value)
    if not ok or parts.query or parts.fragment:
        raise ValueError(
            f"{value!r} is not a plain http:// URL (host or IPv4 address, optional port and "
            "path of letters, digits and '_', '.', '+', '-'); installers fetch without TLS"
        )
    if parts.port is not None and not 1 <= parts.port <= 65535:
        raise ValueError(f"{value!r}: port {parts.port} is out of range")
    return _no_dot_segments(value).rstrip("/")


def _ipv4_iface(value: Any) -> str:
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(
            "expected the boot server's IPv4 address with its prefix, e.g. 10.0.0.2/24"
        )
    try:
        ipaddress.IPv4Interface(value)
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None
    from cloudbr.inventory.schema import host_interface  # schema imports this module

    return host_interface(value)  # the server's own address: not a network, broadcast, ...


def _ipv4(value: Any) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _secret(value: str) -> str:
    if not _SECRET.fullmatch(value):
        raise ValueError(
            "must be 32-256 characters of letters, digits and '_', '+', '/', '=', '.', '-' "
            "(e.g. `openssl rand -base64 33`)"
        )
    return value


AbsPath = Annotated[str, AfterValidator(_abs_path)]
RelPath = Annotated[str, AfterValidator(_rel_path)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Ipv4Iface = Annotated[str, AfterValidator(_ipv4_iface)]
Ipv4 = Annotated[str, AfterValidator(_ipv4)]
Secret = Annotated[str, AfterValidator(_secret)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstallerFilesIn(_Strict):
    kernel: RelPath = Field(description="Installer kernel, relative to tftp_root")
    initrd: RelPath = Field(description="Installer initrd, relative to tftp_root")


class DhcpRangeIn(_Strict):
    start: Ipv4
    end: Ipv4


class DhcpIn(_Strict):
    mode: PxeDhcpMode = Field(
        default=PxeDhcpMode.DHCP,
        description="dhcp: dnsmasq hands out addresses; proxy: beside an existing DHCP server",
    )
    range: DhcpRangeIn | None = Field(
        default=None,
        description="dhcp mode: dynamic range for other machines; none: known hosts only",
    )
    lease_time: Annotated[str, Field(pattern=r"^([0-9]{1,6}[mhd]?|infinite)$")] = "1h"


class PxeIn(_Strict):
    """The boot server: dnsmasq (DHCP/TFTP) and nginx (HTTP) configuration for PXE installs."""

    server: Ipv4Iface = Field(description="Boot server address/prefix on the provisioning net")
    http_url: HttpUrl | None = Field(
        default=None, description="Where nginx serves OUT; default http://SERVER/cloudbr"
    )
    document_root: AbsPath = Field(
        default="/srv/cloudbr", description="Where OUT is on the boot server"
    )
    tftp_root: AbsPath = Field(
        default="/srv/tftp", description="dnsmasq's TFTP root: boot loaders and installers"
    )
    dhcp: DhcpIn = DhcpIn()
    loader: PxeLoader = Field(
        default=PxeLoader.IPXE,
        description="ipxe: chainload iPXE, then the per-MAC iPXE script; native: "
        "pxelinux (BIOS) / GRUB (UEFI) with their per-MAC files",
    )
    installers: dict[Distro, InstallerFilesIn] = Field(
        default={}, description="Per distro: installer kernel and initrd (defaults: installers/…)"
    )
    console: Annotated[str, Field(pattern=r"^tty[A-Za-z0-9]{1,8}(,[0-9]{3,7}([noe][5-8])?)?$")] | (
        None
    ) = Field(default=None, description="Installer serial console, e.g. ttyS0,115200")
    path_secret: Secret | None = Field(
        default=None,
        description="Site secret: document URLs get a per-host HMAC token in their path",
    )
    hosts: list[str] | None = Field(
        default=None, description="Hosts that PXE-install; default: every host"
    )


class _PxeResolver:
    def __init__(self, pxe: PxeIn, hosts_in: list[Any], hosts: list[Host]) -> None:
        self.pxe = pxe
        self.hosts_in = hosts_in
        self.hosts = hosts
        self.problems: list[Problem] = []
        self.server = ipaddress.IPv4Interface(pxe.server)
        self.network = self.server.network
        self.http_url = pxe.http_url or f"http://{self.server.ip}/cloudbr"

    def err(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.problems.append(Problem(path, message, at_key))

    def selected(self) -> list[int]:
        names = [h.hostname for h in self.hosts]
        if self.pxe.hosts is None:
            return list(range(len(self.hosts)))
        out = []
        for i, name in enumerate(self.pxe.hosts):
            if name not in names:
                self.err(("site", "pxe", "hosts", i), f"no host named {name!r} in 'hosts'")
            else:
                out.append(names.index(name))
        return sorted(set(out))

    def pxe_host(self, index: int) -> PxeHost | None:
        host, path = self.hosts[index], ("hosts", index)
        prefix = f"host {host.hostname} PXE-installs (site.pxe)"
        if host.hostname == BOOT_PREFIX and self.pxe.path_secret is None:
            self.err(
                (*path, "hostname"),
                f"{prefix}: without site.pxe.path_secret its documents would be served below "
                f"HTTP_URL/{BOOT_PREFIX}/, where the installers are: rename the host",
            )
        if DNSMASQ_WORDS.fullmatch(host.hostname):
            self.err(
                (*path, "hostname"),
                f"{prefix}: dnsmasq's dhcp-host would read {host.hostname!r} as a lease time "
                "or keyword, not as its name: rename the host",
            )
        try:
            nic = install_nic(host)
        except KeyError:
            return None  # no management bridge: reported by the host's resolver
        mac = next((n.mac for n in host.nics if n.name == nic), None)
        if nic is None or mac is None:
            where = f"its install NIC {nic!r}" if nic else "its management bridge's uplink"
            self.err(
                path,
                f"{prefix}: {where} has no MAC address; set 'macs: {{{nic or 'eth0'}: ...}}' "
                "(DHCP and the boot entries are keyed by it)",
            )
        address = next(iter(host.primary_bridge.ipv4), None)
        self.check_address(address, path, prefix)
        if host.distro not in DEFAULT_INSTALLERS:
            return None  # reported by the host's resolver: distro not supported yet
        installer = platforms.get(host.distro).installer
        if not installer.carrier.pxe_boots:
            self.err(
                path,
                f"{prefix}: PXE boot entries for {installer.program} ({host.distro.value}) are "
                f"not built yet; install from its media with OUT/{host.hostname}/"
                "autoinstall/cidata.iso attached",
            )
            return None
        if nic is None or mac is None or address is None:
            return None
        return PxeHost(hostname=host.hostname, mac=mac, nic=nic, address=address)

    def check_address(
        self, address: ipaddress.IPv4Interface | None, path: Path, prefix: str
    ) -> None:
        if address is None:
            self.err(path, f"{prefix}: the install network is IPv4: set an IPv4 'address'")
        elif self.pxe.dhcp.mode is PxeDhcpMode.DHCP and address.ip not in self.network:
            self.err(
                (*path, "address"),
                f"{prefix}: {address.ip} is outside the provisioning network {self.network} "
                "of site.pxe.server, where dnsmasq hands out the install address",
            )
        elif address.ip == self.server.ip:
            self.err(
                (*path, "address"),
                f"{prefix}: {address.ip} is the boot server's own address (site.pxe.server): "
                "nginx, which serves a document to its host's address, would serve this one "
                "to anything running on the boot server",
            )

    def check_range(
        self,
        addresses: list[tuple[ipaddress.IPv4Address, Path]],
        others: list[tuple[ipaddress.IPv4Address, Path]],
    ) -> None:
        rng = self.pxe.dhcp.range
        path: Path = ("site", "pxe", "dhcp", "range")
        if rng is None:
            return
        if self.pxe.dhcp.mode is PxeDhcpMode.PROXY:
            self.err(path, "a proxy-DHCP server hands out no addresses: remove 'range'")
            return
        start, end = ipaddress.IPv4Address(rng.start), ipaddress.IPv4Address(rng.end)
        for key, ip in (("start", start), ("end", end)):
            if ip not in self.network:
                self.err((*path, key), f"{ip} is outside the provisioning network {self.network}")
        if start > end:
            self.err((*path, "end"), f"range end {end} is below its start {start}")
        server = [(self.server.ip, ("site", "pxe", "server"))]
        for what, found in (("install address", addresses), ("address", [*others, *server])):
            for ip, hpath in found:
                if start <= ip <= end:
                    self.err(
                        hpath,
                        f"{what} {ip} is inside site.pxe.dhcp.range ({start}-{end}): "
                        "dnsmasq could lease it to another machine",
                    )

    def others(self, pxe_hosts: list[PxeHost]) -> list[tuple[ipaddress.IPv4Address, Path]]:
        """The other hosts' IPv4 addresses on the provisioning network (a range must not
        hold them either)."""
        pxe_names = {h.hostname for h in pxe_hosts}
        return [
            (a.ip, self.host_address_path(i))
            for i, host in enumerate(self.hosts)
            if host.hostname not in pxe_names
            for bridge in host.bridges
            for a in bridge.ipv4
            if a.ip in self.network
        ]

    def check_site(self) -> None:
        """What the site's own values must not do: serve documents by TFTP, or give proxy-DHCP
        a chain URL longer than the BOOTP file field it goes in (128 bytes, its NUL too)."""
        docs, tftp = self.pxe.document_root.rstrip("/"), self.pxe.tftp_root.rstrip("/")
        if f"{docs}/".startswith(f"{tftp}/"):
            self.err(
                ("site", "pxe", "document_root"),
                f"{self.pxe.document_root} is inside tftp_root {self.pxe.tftp_root}: TFTP would "
                "serve every host's documents (password hashes, keys) to anyone, without "
                "nginx's check of the host's address",
            )
        chain = f"{self.http_url}/{CHAIN_URL_TAIL}"
        proxy_ipxe = self.pxe.dhcp.mode is PxeDhcpMode.PROXY and self.pxe.loader is PxeLoader.IPXE
        if proxy_ipxe and len(chain) > BOOTP_FILE_MAX:
            self.err(
                ("site", "pxe", "http_url"),
                f"proxy-DHCP hands iPXE its chain script {chain} in the BOOTP file field, "
                f"which holds {BOOTP_FILE_MAX} characters: keep http_url to "
                f"{BOOTP_FILE_MAX - len(CHAIN_URL_TAIL) - 1} characters",
            )

    def resolve(self) -> PxeSite:
        pxe = self.pxe
        hosts = [h for h in (self.pxe_host(i) for i in self.selected()) if h is not None]
        self.check_range([(h.address.ip, self.address_path(h)) for h in hosts], self.others(hosts))
        self.check_site()
        distros = sorted({self.hosts[self.index(h)].distro for h in hosts})
        installers = {d: DEFAULT_INSTALLERS[d] for d in distros if d in DEFAULT_INSTALLERS}
        for d, files in pxe.installers.items():
            installers[d] = InstallerFiles(files.kernel, files.initrd)
        rng = pxe.dhcp.range
        return PxeSite(
            server=self.server,
            http_url=self.http_url,
            document_root=pxe.document_root,
            tftp_root=pxe.tftp_root,
            dhcp_mode=pxe.dhcp.mode,
            dhcp_range=(
                (ipaddress.IPv4Address(rng.start), ipaddress.IPv4Address(rng.end)) if rng else None
            ),
            lease_time=pxe.dhcp.lease_time,
            loader=pxe.loader,
            installers=tuple(sorted(installers.items())),
            console=pxe.console,
            path_secret=pxe.path_secret.encode() if pxe.path_secret else None,
            hosts=tuple(hosts),
        )

    def index(self, pxe_host: PxeHost) -> int:
        return next(i for i, h in enumerate(self.hosts) if h.hostname == pxe_host.hostname)

    def address_path(self, pxe_host: PxeHost) -> Path:
        return self.host_address_path(self.index(pxe_host))

    def host_address_path(self, i: int) -> Path:
        return ("hosts", i, "address") if self.hosts_in[i].address else ("hosts", i)


def reserved_hostnames(hosts_in: list[Any]) -> list[Problem]:
    return [
        Problem(
            ("hosts", i, "hostname"),
            f"hostname {h.hostname!r} is reserved: OUT/{h.hostname}/ holds the site's PXE files",
        )
        for i, h in enumerate(hosts_in)
        if h.hostname in RESERVED_HOSTNAMES
    ]


def resolve_pxe(
    site_pxe: PxeIn | None, hosts_in: list[Any], hosts: list[Host]
) -> tuple[PxeSite | None, list[Problem]]:
    """The model's PXE site (None without `site.pxe`) and every problem with it."""
    problems = reserved_hostnames(hosts_in)
    if site_pxe is None:
        return None, problems
    resolver = _PxeResolver(site_pxe, hosts_in, hosts)
    site = resolver.resolve()
    return site, problems + resolver.problems
