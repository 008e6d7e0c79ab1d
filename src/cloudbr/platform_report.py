"""The platform registry as `cloudbr platforms` prints it: a table, or JSON (a list of objects,
each with an `id`)."""

from __future__ import annotations

from typing import Any

from cloudbr.model import Backend
from cloudbr.platform_types import Platform, Version
from cloudbr.platforms import PLATFORMS


def _version(v: Version | None) -> str | None:
    return ".".join(map(str, v)) if v is not None else None


def _per_backend(p: Platform, values: Any) -> dict[str, list[str]]:
    return {b.value: [str(v) for v in values(b)] for b in p.backends}


def summary(p: Platform) -> dict[str, Any]:
    inst = p.installer
    return {
        "id": p.id.value,
        "name": p.name,
        "family": p.family.value,
        "release": p.release,
        "backends": [b.value for b in p.backends],
        "stacks": _per_backend(p, p.stacks),
        "installer": {
            "carrier": inst.carrier.value,
            "program": inst.program,
            "dialect": inst.dialect,
            "mirror": inst.mirror,
        },
        "kernel_args": p.kernel_args.value,
        "cloudstack": p.cloudstack.value,
        "rendered": p.rendered,
        "versions": {
            "ovs": _version(p.ovs),
            "netplan": _version(p.netplan),
            "network_manager": _version(p.network_manager),
            "systemd": _version(p.systemd),
            "cloud_init": _version(p.cloud_init),
        },
        "packages": _per_backend(p, p.packages),
        "services": {"enable": _per_backend(p, p.enable), "disable": _per_backend(p, p.disable)},
    }


def platforms_json() -> list[dict[str, Any]]:
    return [summary(p) for p in PLATFORMS.values()]


HEADERS = ("ID", "NAME", "BACKENDS", *(b.value.upper() for b in Backend), "INSTALLER", "CLOUDSTACK")


def _row(p: Platform) -> tuple[str, ...]:
    stacks = ["+".join(s.value for s in p.stacks(b)) or "-" for b in Backend]
    status = p.cloudstack.value + ("" if p.rendered else " (not rendered yet)")
    backends = ",".join(b.value for b in p.backends)
    return (p.id.value, p.name, backends, *stacks, p.installer.carrier.value, status)


def table() -> str:
    rows = [HEADERS, *(_row(p) for p in PLATFORMS.values())]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
