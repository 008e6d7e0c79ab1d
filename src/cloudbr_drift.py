"""cloudbr_drift: the comparison of a host's plan (/etc/cloudbr/plan.json) with a state of its
networking, and its report, for cloudbr-verify on the host and `cloudbr verify` on the
management side alike. The host keeps it in /usr/local/lib/cloudbr, beside no other module;
the cloudbr package ships it as a top-level module. Python 3.6+ standard library only, like
the program (cloudbr.verify.onhost) that reads the live state.
"""

import json
import re
from typing import Any, Dict, List, Optional

AGENT = "/etc/cloudstack/agent/agent.properties"
# Devices CloudStack, libvirt and OVS create while the host runs (and VLANs on them): no drift.
RUNTIME = re.compile(r"^(cloud0|ovs-system|vnet\d+|virbr\d+(-nic)?|cloudVirBr\d+|br.+-\d+)$")

State = Dict[str, Any]
Drift = Dict[str, Any]


class StateError(Exception):
    """The live state (or a state file) cannot be read."""


def _drift(subject: str, what: str, expected: Any, found: Any) -> Drift:
    return {"subject": subject, "what": what, "expected": expected, "found": found}


def _compare_set(subject: str, what: str, want: List[str], have: List[str]) -> List[Drift]:
    same = set(want) == set(have)
    return [] if same else [_drift(subject, what, sorted(want), sorted(have))]


def compare_devices(kind: str, want: Dict[str, Any], have: Dict[str, Any]) -> List[Drift]:
    """Bonds, bridges or VLANs: each planned one present with the planned properties, and
    no others (run-time devices aside)."""
    out = []
    for name, spec in sorted(want.items()):
        got = have.get(name)
        if got is None:
            out.append(_drift(name, kind, "present", "missing"))
            continue
        for key, value in sorted(spec.items()):
            if key in ("members", "ports"):
                ports = [p for p in got.get(key, []) if not RUNTIME.match(p)]
                out += _compare_set(name, key, value, ports)
            elif got.get(key) != value:
                out.append(_drift(name, key, value, got.get(key)))
        # Linux active-backup bonds name their active member (OVS bonds are not read).
        active_backup = "active" in got and got.get("mode") == "active-backup"
        if active_backup and got["active"] not in got.get("members", []):
            out.append(_drift(name, "active member", "one of members", got["active"]))
    for name in sorted(set(have) - set(want)):
        if not RUNTIME.match(name):
            out.append(_drift(name, kind, "absent", "present"))
    return out


def compare_interfaces(plan: Dict[str, Any], state: State) -> List[Drift]:
    out = []
    links, addresses = state["links"], state["addresses"]
    # Bonds, bridges and VLANs missing are reported by their own checks, which read the kernel
    # (Linux) or ovsdb: an OVS bridge that ovsdb has must have its kernel device too.
    in_ovsdb = (state.get("ovs") or {}).get("bridges", {}) if plan["backend"] == "ovs" else {}
    for name, spec in sorted(plan["interfaces"].items()):
        link = links.get(name)
        if link is None:
            if spec["kind"] == "nic":
                out.append(_drift(name, "nic", "present", "missing"))
            elif name in in_ovsdb:
                out.append(_drift(name, "kernel device", "present", "missing"))
            continue
        if spec["mtu"] is not None and link.get("mtu") != spec["mtu"]:
            out.append(_drift(name, "mtu", spec["mtu"], link.get("mtu")))
        have = addresses.get(name, [])
        out += _compare_set(name, "addresses", spec["addresses"], have)
    return out


def compare(plan: Dict[str, Any], state: State) -> List[Drift]:
    """Every difference between the plan and a state (live or from a state file)."""
    try:
        out = compare_interfaces(plan, state)
        bonds, bridges = state["bonds"], state["bridges"]
        if plan["backend"] == "ovs":
            if not state.get("ovs"):
                raise StateError("state has no Open vSwitch section")
            out += compare_devices("linux bond", {}, bonds)
            out += compare_devices("linux bridge", {}, bridges)
            bonds, bridges = state["ovs"]["bonds"], state["ovs"]["bridges"]
        out += compare_devices("bond", plan["bonds"], bonds)
        out += compare_devices("bridge", plan["bridges"], bridges)
        masters = {n: link.get("master") or "" for n, link in state["links"].items()}
        vlans = {n: v for n, v in state["vlans"].items() if not RUNTIME.match(masters.get(n, ""))}
        out += compare_devices("vlan", plan["vlans"], vlans)
        for family, want in sorted(plan["default_routes"].items()):
            have = state["routes"].get(family)
            if want != have:
                out.append(_drift("default route", "IPv" + family, want, have))
        out += _compare_set("resolver", "dns servers", plan["dns"], state["dns"])
        return out + compare_agent(plan["agent"], state["agent"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise StateError("malformed plan or state: {!r}".format(exc)) from exc


def compare_agent(want: Dict[str, str], have: Optional[Dict[str, str]]) -> List[Drift]:
    if have is None:
        return [_drift(AGENT, "file", "present", "missing")]
    return [
        _drift(AGENT, key, value, have.get(key))
        for key, value in sorted(want.items())
        if have.get(key) != value
    ]


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return " ".join("{}={}".format(k, v) for k, v in sorted(value.items()))
    return "(none)" if value is None else str(value)


def report(host: str, drift: List[Drift], as_json: bool) -> str:
    """A table for people (or one "no drift" line), JSON for tools."""
    if as_json:
        return json.dumps({"host": host, "ok": not drift, "drift": drift}, indent=1)
    if not drift:
        return "cloudbr-verify {}: no drift".format(host)
    rows = [("SUBJECT", "WHAT", "EXPECTED", "FOUND")]
    rows += [(d["subject"], d["what"], _cell(d["expected"]), _cell(d["found"])) for d in drift]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[3]]) for r in rows]
    head = "cloudbr-verify {}: {} difference{}".format(host, len(drift), "s"[: len(drift) - 1])
    return "\n".join([head, *lines])


# The plan's and a state file's shapes, checked before anything is compared: a key's value
# is a type (exactly), None, a tuple of choices, [shape] for a list, {"*": shape} for names.
ROUTE = (None, {"via": (None, str), "dev": (None, str)})
PLAN_SHAPE = {
    "format": int, "host": str, "backend": str, "ipv6": bool, "dns": [str], "agent": {"*": str},
    "interfaces": {"*": {"kind": str, "mtu": (None, int), "addresses": [str]}},
    "bonds": {"*": {"mode": str, "miimon": (None, int), "members": [str]}},
    "bridges": {"*": {"ports": [str], "vlan": (None, {"id": int, "parent": str})}},
    "vlans": {"*": {"id": int, "parent": str}}, "default_routes": {"*": ROUTE},
}  # fmt: skip
STATE_SHAPE = {
    "format": int, "addresses": {"*": [str]}, "routes": {"*": ROUTE}, "dns": [str],
    "links": {"*": {"kind": str, "mtu": (None, int), "master": (None, str)}},
    "bonds": {"*": {"mode": str, "miimon": (None, int), "members": [str], "active": (None, str)}},
    "bridges": {"*": {"ports": [str], "vlan": None}}, "vlans": PLAN_SHAPE["vlans"],
    "agent": (None, {"*": str}),
    "ovs": (None, {"bridges": {"*": {"ports": [str], "vlan": (None, {"id": (None, int),
            "parent": str})}}, "bonds": {"*": {"mode": (None, str), "miimon": (None, int),
            "members": [str]}}}),
}  # fmt: skip


def fits(value: Any, shape: Any) -> bool:
    if shape is None or isinstance(shape, type):
        return type(value) is shape if shape else value is None  # True is no int here
    if isinstance(shape, tuple):
        return any(fits(value, choice) for choice in shape)
    if isinstance(shape, list):
        return isinstance(value, list) and all(fits(v, shape[0]) for v in value)
    if not isinstance(value, dict):
        return False
    if "*" in shape:
        return all(fits(v, shape["*"]) for v in value.values())
    return set(value) == set(shape) and all(fits(value[k], s) for k, s in shape.items())


def _unique(pairs: List[Any]) -> Dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("a key given twice")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(name + " is not a number")


def load(path: str, shape: Dict[str, Any], what: str) -> Dict[str, Any]:
    """A plan or state file (`path` as given: relative to the working directory), parsed
    strictly: JSON without NaN or repeated keys, of exactly `shape`, format 1."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh, object_pairs_hook=_unique, parse_constant=_no_constant)
    except (OSError, ValueError) as exc:
        raise StateError("{}: {}".format(path, exc)) from exc
    if not isinstance(doc, dict) or doc.get("format") != 1 or not fits(doc, shape):
        raise StateError("{}: not a cloudbr {} of format 1".format(path, what))
    if what == "plan" and doc["backend"] not in ("linuxbridge", "ovs"):
        raise StateError("{}: unknown backend {!r}".format(path, doc["backend"]))
    return doc
