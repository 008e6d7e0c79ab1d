"""Dotted-quad IPv4 text read with integer arithmetic: `ipaddress`'s parser was most of what
validating and resolving a large inventory cost. Only canonical text takes this path (decimal
octets without leading zeros, a decimal prefix length); any other text, and any value the schema
refuses, goes through `ipaddress` for its exact answer and message."""

from __future__ import annotations

import ipaddress
import re

_OCTET = r"(0|[1-9][0-9]{0,2})"
_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_V4_IFACE = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(0|[1-9][0-9]?)")
_LOOPBACK, _MULTICAST = 127, 14  # 127.0.0.0/8 (first octet), 224.0.0.0/4 (first 4 bits)


def v4_int(text: str) -> int | None:
    """The address as an integer when `text` is a canonical IPv4 address, else None."""
    m = _V4.fullmatch(text)
    if m is None:
        return None
    a, b, c, d = (int(o) for o in m.groups())
    if a > 255 or b > 255 or c > 255 or d > 255:
        return None
    return a << 24 | b << 16 | c << 8 | d


def v4_iface(text: str) -> tuple[int, int] | None:
    """(address, prefix length) when `text` is a canonical IPv4 address/prefix, else None."""
    m = _V4_IFACE.fullmatch(text)
    if m is None:
        return None
    a, b, c, d, prefix = (int(g) for g in m.groups())
    if a > 255 or b > 255 or c > 255 or d > 255 or prefix > 32:
        return None
    return a << 24 | b << 16 | c << 8 | d, prefix


def is_host_v4_iface(text: str) -> bool:
    """True when `text` is canonical IPv4 address/prefix text the schema accepts as it is: a
    host address (not its subnet's network or broadcast address, loopback, multicast or
    0.0.0.0). False says nothing: the caller asks `ipaddress`."""
    parsed = v4_iface(text)
    if parsed is None:
        return False
    ip, prefix = parsed
    if ip == 0 or ip >> 24 == _LOOPBACK or ip >> 28 == _MULTICAST:
        return False
    if prefix <= 30:  # more than two addresses: the network and broadcast ones are no hosts'
        host_bits = (1 << (32 - prefix)) - 1
        if ip & host_bits in (0, host_bits):
            return False
    return True


def interface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """`ipaddress.ip_interface(text)`, without its string parser for canonical IPv4 text."""
    parsed = v4_iface(text)
    if parsed is not None:
        return ipaddress.IPv4Interface(parsed)
    return ipaddress.ip_interface(text)


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """`ipaddress.ip_address(text)`, without its string parser for canonical IPv4 text."""
    ip = v4_int(text)
    if ip is not None:
        return ipaddress.IPv4Address(ip)
    return ipaddress.ip_address(text)
