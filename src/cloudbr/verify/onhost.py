#!/usr/bin/env python3
"""cloudbr-verify: compare this host's live networking with the plan cloudbr rendered for it
(/etc/cloudbr/plan.json) and report every difference. Exit 0: no drift, 1: drift, 2: the state
cannot be read. `--dump-state FILE` writes the state for `cloudbr verify INVENTORY --host NAME
--state FILE`, the same comparison on the management side. Python 3.6+ standard library only:
it runs on the stock python3 of CentOS 7 and Ubuntu 18.04 (3.6) up to Ubuntu 24.04 (3.12).
"""

import argparse
import json
import os
import re
import subprocess
import sys
from subprocess import PIPE
from typing import Any, Callable, Dict, List, Optional

PLAN = "/etc/cloudbr/plan.json"
AGENT = "/etc/cloudstack/agent/agent.properties"
EXIT_OK, EXIT_DRIFT, EXIT_STATE = 0, 1, 2
# Devices CloudStack, libvirt and OVS create while the host runs (and VLANs on them): no drift.
RUNTIME = re.compile(r"^(cloud0|ovs-system|vnet\d+|virbr\d+(-nic)?|cloudVirBr\d+|br.+-\d+)$")

State = Dict[str, Any]
Drift = Dict[str, Any]
Runner = Callable[[List[str]], str]


class StateError(Exception):
    """The live state (or a state file) cannot be read."""


def run(argv: List[str]) -> str:
    try:
        proc = subprocess.run(argv, stdout=PIPE, stderr=PIPE, universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StateError("{}: {}".format(argv[0], exc)) from exc
    if proc.returncode != 0:
        raise StateError("{}: {}".format(" ".join(argv), proc.stderr.strip()))
    return proc.stdout


class Source:
    """Where the live state comes from: files under `root`, commands through `runner`."""

    def __init__(self, root: str = "/", runner: Runner = run) -> None:
        self.root = root
        self.cmd = runner

    def path(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path: str) -> Optional[str]:
        if not os.path.isfile(self.path(path)):
            return None
        with open(self.path(path)) as fh:
            return fh.read()

    def listdir(self, path: str) -> List[str]:
        real = self.path(path)
        return sorted(os.listdir(real)) if os.path.isdir(real) else []

    def json_cmd(self, argv: List[str]) -> List[Any]:
        """The command's JSON documents, one per line (ip prints one, ovs-vsctl one a table)."""
        try:
            return [json.loads(line) for line in self.cmd(argv).splitlines() if line.strip()]
        except ValueError as exc:
            raise StateError("{}: not JSON".format(" ".join(argv))) from exc


def read_links(src: Source) -> Dict[str, Dict[str, Any]]:
    """Every kernel interface from /sys/class/net: kind, MTU and master."""
    names = src.listdir("/sys/class/net")
    if not names:
        raise StateError("/sys/class/net: no interfaces")
    vlans = read_vlans(src)
    links = {}
    for name in names:
        base = "/sys/class/net/" + name
        kinds = [k for k in ("bonding", "bridge") if os.path.isdir(src.path(base + "/" + k))]
        kind = {"bonding": "bond"}.get(kinds[0], kinds[0]) if kinds else None
        kind = kind or ("vlan" if name in vlans else "other")
        up = src.path(base + "/master")
        master = os.path.basename(os.readlink(up)) if os.path.islink(up) else None
        mtu = (src.read(base + "/mtu") or "0").strip()
        links[name] = {"kind": kind, "mtu": int(mtu) if mtu.isdigit() else None, "master": master}
    return links


def read_vlans(src: Source) -> Dict[str, Dict[str, Any]]:
    """/proc/net/vlan/config: `name | id | parent` after two header lines."""
    out = {}
    for line in (src.read("/proc/net/vlan/config") or "").splitlines()[2:]:
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and fields[1].isdigit():
            out[fields[0]] = {"id": int(fields[1]), "parent": fields[2]}
    return out


def read_bonds(src: Source, links: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    out = {}
    for name in (n for n, link in links.items() if link["kind"] == "bond"):
        d = "/sys/class/net/{}/bonding/".format(name)
        miimon = (src.read(d + "miimon") or "").strip()
        out[name] = {
            "mode": (src.read(d + "mode") or "").split(" ")[0].strip(),
            "miimon": int(miimon) if miimon.isdigit() else None,
            "members": (src.read(d + "slaves") or "").split(),
            "active": (src.read(d + "active_slave") or "").strip() or None,
        }
    return out


ADDR_TEXT = re.compile(r"^\d+:\s+(\S+)\s+inet6?\s+(\S+)\s.*\bscope\s+(\S+)")


def read_addresses(src: Source) -> Dict[str, List[str]]:
    """Global addresses per device (`ip -json addr`; `ip -o addr` where -json is missing)."""
    out = {}  # type: Dict[str, List[str]]
    try:
        for link in (src.json_cmd(["ip", "-json", "addr", "show"]) or [[]])[0]:
            out[link["ifname"]] = [
                "{}/{}".format(a["local"], a["prefixlen"])
                for a in link.get("addr_info", [])
                if "local" in a and a.get("scope") == "global"
            ]
        return out
    except StateError:
        text = src.cmd(["ip", "-o", "addr", "show"])
    for line in text.splitlines():
        m = ADDR_TEXT.match(line)
        if m and m.group(3) == "global":
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def read_routes(src: Source) -> Dict[str, Dict[str, str]]:
    out = {}
    for family in ("4", "6"):
        argv = ["ip", "-" + family, "route", "show", "default"]
        try:
            routes = [
                {"via": r.get("gateway"), "dev": r.get("dev")}
                for r in (src.json_cmd(["ip", "-json", *argv[1:]]) or [[]])[0]
            ]
        except StateError:
            words = [line.split() for line in src.cmd(argv).splitlines()]
            pairs = [dict(zip(w[1::2], w[2::2])) for w in words]  # default via X dev Y ...
            routes = [{"via": p.get("via"), "dev": p.get("dev")} for p in pairs]
        if routes:
            out[family] = routes[0]
    return out


def read_dns(src: Source) -> List[str]:
    """The resolver's servers: resolv.conf, or systemd-resolved's behind its stub."""
    servers = [
        line.split()[1]
        for line in (src.read("/etc/resolv.conf") or "").splitlines()
        if line.startswith("nameserver") and len(line.split()) > 1
    ]
    if servers != ["127.0.0.53"]:  # systemd-resolved's stub: ask resolved for the servers
        return servers
    try:
        text = src.cmd(["resolvectl", "dns"])  # "Link 3 (cloudbr0): 192.168.100.5 ..."
    except StateError:
        text = src.cmd(["systemd-resolve", "--status"])  # Ubuntu 18.04: "DNS Servers: ..."
        text = "\n".join(re.findall(r"DNS Servers:\s*(.*(?:\n\s+[0-9a-fA-F.:]+$)*)", text, re.M))
        return list(dict.fromkeys(text.split()))  # ordered on CPython 3.6 too
    return list(dict.fromkeys(w for ln in text.splitlines() for w in ln.split(":", 1)[-1].split()))


def read_agent(src: Source) -> Optional[Dict[str, str]]:
    text = src.read(AGENT)
    if text is None:
        return None
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line]
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def _ovs_value(value: Any) -> Any:
    """ovs-vsctl --format=json cells: ["set", [...]], ["map", [[k, v]]], ["uuid", u], x."""
    kind, inner = value if isinstance(value, list) and len(value) == 2 else (None, value)
    if kind == "set":
        return [_ovs_value(v) for v in inner]
    return dict(inner) if kind == "map" else inner


def ovs_tables(src: Source, *queries: str) -> List[List[Dict[str, Any]]]:
    """`TABLE:COLUMNS` queries in one ovs-vsctl call (one JSON document per line back)."""
    argv = ["ovs-vsctl", "--timeout=20", "--format=json"]
    for query in queries:
        table, columns = query.split(":")
        argv += ["--", "--columns=" + columns, "list", table]
    docs = src.json_cmd(argv)
    return [[{h: _ovs_value(v) for h, v in zip(d["headings"], r)} for r in d["data"]] for d in docs]


def _as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def read_ovs(src: Source) -> Dict[str, Any]:
    port_cols = "Port:_uuid,name,interfaces,tag,bond_mode,fake_bridge,other_config"
    iface_rows, port_rows, bridge_rows = ovs_tables(
        src, "Interface:_uuid,name", port_cols, "Bridge:name,ports"
    )
    ifaces = {i["_uuid"]: i["name"] for i in iface_rows}
    ports = {p["_uuid"]: p for p in port_rows}
    bridges, bonds = {}, {}  # type: Dict[str, Dict[str, Any]], Dict[str, Dict[str, Any]]
    for br in bridge_rows:
        own = []
        for port in (ports[u] for u in _as_list(br["ports"]) if u in ports):
            members = sorted(ifaces.get(u, u) for u in _as_list(port["interfaces"]))
            if port["fake_bridge"] is True:
                tag = port["tag"] if isinstance(port["tag"], int) else None
                bridges[port["name"]] = {"ports": [], "vlan": {"id": tag, "parent": br["name"]}}
            elif port["name"] != br["name"]:
                own.append(port["name"])
            if members != [port["name"]] and port["fake_bridge"] is not True:
                miimon = port["other_config"].get("bond-miimon-interval", "")
                bonds[port["name"]] = {
                    "mode": port["bond_mode"] if isinstance(port["bond_mode"], str) else None,
                    "miimon": int(miimon) if miimon.isdigit() else None,
                    "members": members,
                }
        bridges[br["name"]] = {"ports": sorted(own), "vlan": None}
    return {"bridges": bridges, "bonds": bonds}


def read_state(src: Source, ovs: bool) -> State:
    links = read_links(src)
    return {
        "format": 1,
        "links": links,
        "addresses": read_addresses(src),
        "routes": read_routes(src),
        "bonds": read_bonds(src, links),
        "bridges": {
            n: {"ports": src.listdir("/sys/class/net/" + n + "/brif"), "vlan": None}
            for n, link in links.items()
            if link["kind"] == "bridge"
        },
        "vlans": read_vlans(src),
        "ovs": read_ovs(src) if ovs else None,
        "dns": read_dns(src),
        "agent": read_agent(src),
    }


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
    for name, spec in sorted(plan["interfaces"].items()):
        link = links.get(name)
        if link is None:
            if spec["kind"] == "nic":  # bonds, bridges, VLANs: reported by their own checks
                out.append(_drift(name, "nic", "present", "missing"))
            continue
        if spec["mtu"] is not None and link.get("mtu") != spec["mtu"]:
            out.append(_drift(name, "mtu", spec["mtu"], link.get("mtu")))
        have = addresses.get(name, [])
        if plan["ipv6"] and not any(":" in a for a in spec["addresses"]):
            have = [a for a in have if ":" not in a]  # autoconfigured IPv6 is not drift
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


def _load(path: str) -> Any:
    try:
        return json.loads(Source().read(path) or "")
    except ValueError as exc:
        raise StateError("{}: missing or not JSON".format(path)) from exc


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloudbr-verify", description=__doc__.split("\n\n")[0])
    p.add_argument("--plan", default=PLAN, help="default: " + PLAN)
    p.add_argument("--json", action="store_true", help="machine-readable report")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--state", metavar="FILE", help="compare a dumped state, not this host")
    src.add_argument("--dump-state", metavar="FILE", help="write the live state ('-': stdout)")
    return p


def main(argv: Optional[List[str]] = None, source: Optional[Source] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = _load(args.plan)
        ovs = plan.get("backend") == "ovs"
        state = _load(args.state) if args.state else read_state(source or Source(), ovs)
        if args.dump_state:
            target = 1 if args.dump_state == "-" else args.dump_state  # 1: stdout, left open
            with open(target, "w", closefd=target != 1) as fh:
                fh.write(json.dumps(state, indent=1, sort_keys=True) + "\n")
            return EXIT_OK
        drift = compare(plan, state)
    except StateError as exc:
        print("cloudbr-verify: cannot read the state: {}".format(exc), file=sys.stderr)
        return EXIT_STATE
    print(report(str(plan.get("host", "")), drift, args.json))
    return EXIT_DRIFT if drift else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
