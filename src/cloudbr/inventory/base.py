"""What the parts of a host's resolution (bonds, topology, addressing, resolve) share: where
settings came from, the host's effective settings, and `err` (see resolve.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TypeVar

from cloudbr import platforms
from cloudbr.inventory import ipfast
from cloudbr.inventory.schema import (
    AccessIn,
    BondDefaultsIn,
    DnsIn,
    HostIn,
    InstallerIn,
    SiteIn,
    StorageIn,
    TopologyIn,
    TrafficLabelsIn,
)
from cloudbr.inventory.source import Path, Problem
from cloudbr.model import Backend, IPAddress, IPInterface

T = TypeVar("T")


@dataclass
class Checker:
    problems: list[Problem] = field(default_factory=list)

    def error(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.problems.append(Problem(path, message, at_key))


def pick(host: T | None, site: T | None, default: T) -> T:
    if host is not None:
        return host
    if site is not None:
        return site
    return default


@dataclass(frozen=True)
class Ctx:
    """Where a host's settings came from, so errors point at the right YAML lines."""

    index: int
    host_in: HostIn
    site: SiteIn

    @property
    def host_path(self) -> Path:
        return ("hosts", self.index)

    def setting_path(self, name: str) -> Path:
        if getattr(self.host_in, name) is not None:
            return (*self.host_path, name)
        if getattr(self.site, name) is not None:
            return ("site", name)
        return self.host_path

    @property
    def prefix(self) -> str:
        """Name the host in messages about settings it inherited from the site."""
        return "" if self.host_in.topology is not None else f"host {self.host_in.hostname}: "


# Cached: site-wide values (gateways, DNS servers) are parsed again for every host, and
# ipaddress objects are immutable. A bad value raises afresh each time (nothing is cached).
@functools.lru_cache(maxsize=4096)
def parse_ip(text: str) -> IPAddress:
    return ipfast.address(text)


@functools.lru_cache(maxsize=4096)
def parse_iface(text: str) -> IPInterface:
    return ipfast.interface(text)


# The defaults of hosts that set nothing: frozen, so one of each serves every host (building
# them for each host was a tenth of resolving it).
DEFAULT_TOPOLOGY = TopologyIn()
DEFAULT_BOND = BondDefaultsIn()
DEFAULT_STORAGE = StorageIn()
DEFAULT_DNS = DnsIn()
DEFAULT_LABELS = TrafficLabelsIn()
DEFAULT_ACCESS = AccessIn()
DEFAULT_INSTALLER = InstallerIn()


class ResolverBase:
    """A host's effective settings (host value, else site value, else default) and `err`."""

    def __init__(self, ctx: Ctx, check: Checker) -> None:
        self.ctx = ctx
        self.check = check
        h, s = ctx.host_in, ctx.site
        self.backend = pick(h.backend, s.backend, Backend.LINUXBRIDGE)
        self.distro = pick(h.distro, s.distro, platforms.DEFAULT)
        self.ipv6 = pick(h.ipv6, s.ipv6, False)
        self.topology = pick(h.topology, s.topology, DEFAULT_TOPOLOGY)
        self.topo_path = ctx.setting_path("topology")
        self.bond_defaults = pick(h.bond, s.bond, DEFAULT_BOND)
        self.storage = pick(h.storage, s.storage, DEFAULT_STORAGE)
        self.dns_in = pick(h.dns, s.dns, DEFAULT_DNS)
        self.failed_bridges: set[str] = set()
        # Filled in as the topology is resolved (bridges, then addresses).
        self._bridge_paths: dict[str, Path] = {}
        self.addr_paths: dict[IPInterface, Path] = {}

    def err(self, path: Path, message: str, *, at_key: bool = False) -> None:
        inherited = path[:1] == ("site",) or path == self.ctx.host_path
        self.check.error(path, (self.ctx.prefix if inherited else "") + message, at_key=at_key)
