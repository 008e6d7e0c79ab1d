"""`cloudbr zone`: the CloudStack side of the inventory as a CloudMonkey (`cmk`) script.

Per physical network (one per bridge that carries traffic), `update traffictype` sets the
KVM label of each traffic type it carries, and every host gets an `add host`. The zone's
labels and the hosts' bridges then come from the same inventory and cannot disagree.

API parameters used (Apache CloudStack, api/.../command/admin/usage/UpdateTrafficTypeCmd.java
and admin/host/AddHostCmd.java, names from ApiConstants):
  updateTrafficType: id (required; the traffic type's UUID), kvmnetworklabel
  addHost: zoneid, podid, url, hypervisor (required), clusterid, username, password
Ids and credentials are shell variables the operator sets from `cmk list zones`, `list pods`,
`list clusters` and `list traffictypes physicalnetworkid=...`; the script refuses to run
with any of them unset.
"""

from __future__ import annotations

from collections.abc import Iterable

from cloudbr.model import Host, Inventory, TrafficLabels

HOST_VARS = ("ZONE_ID", "POD_ID", "CLUSTER_ID", "HOST_USERNAME", "HOST_PASSWORD")


def _groups(hosts: Iterable[Host]) -> list[tuple[TrafficLabels, list[Host]]]:
    """Hosts by label set: hosts whose labels differ cannot share physical networks."""
    groups: dict[TrafficLabels, list[Host]] = {}
    for h in hosts:
        groups.setdefault(h.traffic_labels, []).append(h)
    return list(groups.items())


def _networks(labels: TrafficLabels) -> dict[str, list[str]]:
    """Bridge -> the traffic types it carries, in CloudStack's order."""
    nets: dict[str, list[str]] = {}
    for traffic, bridge in labels.items():
        nets.setdefault(bridge, []).append(traffic)
    return nets


def _var(name: str, suffix: str) -> str:
    return f"{name}{suffix}"


def _section(labels: TrafficLabels, hosts: list[Host], suffix: str) -> tuple[list[str], set[str]]:
    lines: list[str] = []
    needed: set[str] = set()
    for n, (bridge, traffics) in enumerate(_networks(labels).items(), 1):
        lines.append(f"# physical network {n}: bridge {bridge} carries {', '.join(traffics)}")
        for traffic in traffics:
            var = _var(f"TRAFFIC_ID_{traffic.upper()}", suffix)
            needed.add(var)
            lines.append(f'cmk update traffictype id="${var}" kvmnetworklabel={bridge}')
    lines.append("")
    for h in hosts:
        addr = h.primary_address
        if addr is None:
            lines.append(f"# {h.fqdn}: no management address in the inventory, add it by hand")
            continue
        ids = " ".join(
            f'{key}="${_var(var, suffix if var == "CLUSTER_ID" else "")}"'
            for key, var in (
                ("zoneid", "ZONE_ID"),
                ("podid", "POD_ID"),
                ("clusterid", "CLUSTER_ID"),
            )
        )
        creds = 'username="$HOST_USERNAME" password="$HOST_PASSWORD"'
        url = f"http://[{addr.ip}]" if addr.version == 6 else f"http://{addr.ip}"
        lines.append(f"cmk add host {ids} hypervisor=KVM url={url} {creds}  # {h.fqdn}")
    needed |= {_var(v, suffix if v == "CLUSTER_ID" else "") for v in HOST_VARS}
    return lines, needed


def script(inv: Inventory) -> str:
    body: list[str] = []
    needed: set[str] = set()
    groups = _groups(inv.hosts)
    for i, (labels, hosts) in enumerate(groups, 1):
        suffix = "" if len(groups) == 1 else f"_{i}"
        if len(groups) > 1:
            names = ", ".join(h.hostname for h in hosts)
            body.append(f"# label set {i} ({names}): its own physical networks and cluster")
        lines, vars_ = _section(labels, hosts, suffix)
        body += lines
        needed |= vars_
    head = [
        "#!/bin/sh",
        f"# cloudbr zone: the CloudStack side of {inv.source} (CloudMonkey `cmk`).",
        "# Set the ids (cmk list zones / pods / clusters / traffictypes physicalnetworkid=...)",
        "# and the hosts' credentials in the environment, then run this script.",
        "set -eu",
    ]
    checks = [f': "${{{v}:?set {v}}}"' for v in sorted(needed)]
    return "\n".join([*head, *checks, "", *body]).rstrip("\n") + "\n"
