#!/usr/bin/env python3
"""cloudbr-verify: compare this host's live networking with the plan cloudbr rendered for it
(/etc/cloudbr/plan.json) and report every difference. Exit 0: no drift, 1: drift, 2: the state
cannot be read. `--dump-state FILE` writes the state for `cloudbr verify INVENTORY --host NAME
--state FILE`, the same comparison on the management side. Python 3.6+ standard library only:
it runs on the stock python3 of CentOS 7 and Ubuntu 18.04 (3.6) up to Ubuntu 24.04 (3.12). The
comparison itself is the module cloudbr_drift, which the tree puts in LIB.
"""

import argparse
import json
import os
import re
import stat
import subprocess
import sys
from subprocess import PIPE
from typing import Any, Callable, Dict, List, Optional

PLAN = "/etc/cloudbr/plan.json"
# The comparison, shared with `cloudbr verify`: a module of the cloudbr package, and on the
# host a file of the tree in LIB.
LIB = "/usr/local/lib/cloudbr"
if __name__ == "__main__":  # the host's program: the comparison of its own tree comes first
    sys.path.insert(0, LIB)
from cloudbr_drift import (  # noqa: E402 - after the path it may need
    AGENT,
    PLAN_SHAPE,
    STATE_SHAPE,
    State,
    StateError,
    compare,
    load,
    report,
)

EXIT_OK, EXIT_DRIFT, EXIT_STATE = 0, 1, 2
Runner = Callable[[List[str]], str]


def run(argv: List[str]) -> str:
    try:
        # UTF-8, undecodable bytes replaced: a C locale (3.6 reads ASCII) or an odd byte in a
        # name must not stop the report.
        proc = subprocess.run(
            argv, stdout=PIPE, stderr=PIPE, encoding="utf-8", errors="replace", timeout=30
        )
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
        try:
            with open(self.path(path), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError as exc:  # e.g. the agent's 0600 file, read by another user
            raise StateError("{}: {}".format(path, exc.strerror)) from exc

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


ADDR_TEXT = re.compile(r"^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)\s.*\bscope\s+(\S+)")


def _configured(family: str, flags: Any) -> bool:
    """Not an address whose DAD failed (unusable), nor IPv6 that router advertisements or
    DHCPv6 gave (`dynamic`): no plan names those; a default route from an RA still counts."""
    return "dadfailed" not in flags and not (family == "inet6" and "dynamic" in flags)


def read_addresses(src: Source) -> Dict[str, List[str]]:
    """Global addresses per device (`ip -json addr`; `ip -o addr` where -json is missing)."""
    out = {}  # type: Dict[str, List[str]]
    try:
        for link in (src.json_cmd(["ip", "-json", "addr", "show"]) or [[]])[0]:
            out[link["ifname"]] = [
                "{}/{}".format(a["local"], a["prefixlen"])
                for a in link.get("addr_info", [])
                if "local" in a
                and a.get("scope") == "global"
                and _configured(a.get("family", ""), [k for k, v in a.items() if v is True])
            ]
        return out
    except StateError:
        text = src.cmd(["ip", "-o", "addr", "show"])
    for line in text.splitlines():
        m = ADDR_TEXT.match(line)
        if m and m.group(4) == "global" and _configured(m.group(2), line.split()):
            out.setdefault(m.group(1), []).append(m.group(3))
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


def read_agent(src: Source, keys: Any) -> Optional[Dict[str, str]]:
    """The agent's settings the plan checks, and no other (the file holds secrets too)."""
    text = src.read(AGENT)
    if text is None:
        return None
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line]
    return {k.strip(): v.strip() for k, v in pairs if k.strip() in keys}


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


def read_state(src: Source, plan: Dict[str, Any]) -> State:
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
        "ovs": read_ovs(src) if plan["backend"] == "ovs" else None,
        "dns": read_dns(src),
        "agent": read_agent(src, plan["agent"]),
    }


def _dump(path: str, state: State) -> None:
    """The state, 0600 when it is a file (it names the host's devices and addresses)."""
    text = json.dumps(state, indent=1, sort_keys=True) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if stat.S_ISREG(os.fstat(fd).st_mode):  # not /dev/null or a tty, which others use
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _say(text: str, stream: Any) -> None:
    """`text` on a stream of any encoding (3.6 in a C locale: ASCII), odd characters escaped."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")


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
        plan = load(args.plan, PLAN_SHAPE, "plan")
        if args.state:
            state = load(args.state, STATE_SHAPE, "state")
        else:
            state = read_state(source or Source(), plan)
        if not args.dump_state:
            drift = compare(plan, state)
    except (StateError, OSError) as exc:  # OSError: a device gone while it was read
        _say("cloudbr-verify: cannot read the state: {}".format(exc), sys.stderr)
        return EXIT_STATE
    if args.dump_state:
        try:
            _dump(args.dump_state, state)
        except OSError as exc:
            _say(
                "cloudbr-verify: cannot write {}: {}".format(args.dump_state, exc.strerror),
                sys.stderr,
            )
            return EXIT_STATE
        return EXIT_OK
    _say(report(str(plan.get("host", "")), drift, args.json), sys.stdout)
    return EXIT_DRIFT if drift else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
