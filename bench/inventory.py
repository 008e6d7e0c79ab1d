"""A generated inventory of N hosts that mixes every platform cloudbr renders, each with every
backend it supports (from the platform registry), in turn."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import yaml

from cloudbr import platforms

# (distro, backend) in registry order: ubuntu2004 has no OVS, so it comes once.
COMBINATIONS = tuple((p.id.value, b.value) for p in platforms.rendered() for b in p.backends)
MANAGEMENT = ipaddress.IPv4Network("10.16.0.0/16")
STORAGE = ipaddress.IPv4Network("10.32.0.0/16")
# The lab's public example values (see examples/lab.yaml).
PASSWORD_HASH = (
    "$6$cloudbrlab$iTU3lxUd69EYmQuLMqd2Xh1HzO4FmuUBozC84qZLzvkcCaGexk9uYdMrlsmWWF0fBxRIIqG171n5"
    ".5fgjTOdY1"
)
SSH_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 "
    "ops@mylab.local"
)


def _host(i: int) -> dict[str, Any]:
    distro, backend = COMBINATIONS[i % len(COMBINATIONS)]
    host: dict[str, Any] = {
        "hostname": f"kvm{i:05d}",
        "distro": distro,
        "backend": backend,
        "address": f"{MANAGEMENT.network_address + 10 + i}/{MANAGEMENT.prefixlen}",
        "gateway": str(MANAGEMENT.network_address + 1),
        "storage_address": f"{STORAGE.network_address + 10 + i}/{STORAGE.prefixlen}",
        "macs": {
            f"eth{n}": f"52:54:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}:0{n}"
            for n in range(4)
        },
    }
    if backend == "ovs" and i % 2:
        host["bond"] = {"mode": "balance-tcp", "miimon": 100, "lacp_rate": "fast"}
    return host


def inventory(hosts: int) -> dict[str, Any]:
    return {
        "site": {
            "domain": "bench.example",
            "dns": {"servers": ["10.16.0.5", "10.16.0.6"], "search": ["bench.example"]},
            "bond": {"mode": "active-backup", "miimon": 100},
            "storage": {"vlan": 100, "parent": "bond0", "bridge": "cloudbr100"},
            "access": {"root_password_hash": PASSWORD_HASH, "ssh_authorized_keys": [SSH_KEY]},
        },
        "hosts": [_host(i) for i in range(hosts)],
    }


def write(path: Path, hosts: int) -> Path:
    path.write_text(yaml.safe_dump(inventory(hosts), sort_keys=False))
    return path
