"""Builders for the hostile-input corpus (tests/test_hostile_inventory.py)."""

from __future__ import annotations

# One valid host, without and with a site.
HOSTS = (
    "hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n    gateway: 192.168.100.1\n"
)
B = "site:\n  domain: mylab.local\n" + HOSTS
TWO_NICS = "      nics: [{name: eth0}, {name: eth1}]\n"
STD_BRIDGES = "      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1, uplink: eth1}]\n"


def host(extra: str, site: str = "", distro: str = "") -> str:
    """The valid host with `extra` host keys (and `site` keys, a distro)."""
    doc = "site:\n  domain: mylab.local\n" + site + HOSTS
    if distro:
        doc += f"    distro: {distro}\n"
    return doc + extra


def topo(body: str, extra: str = "", backend: str = "linuxbridge") -> str:
    """The valid host with its own topology `body` (and `extra` host keys)."""
    return HOSTS + f"    backend: {backend}\n{extra}    topology:\n" + body


def gateway(value: str) -> str:
    """The valid host with `value` (YAML text) as its gateway."""
    return host("").replace("gateway: 192.168.100.1", f"gateway: {value}")
