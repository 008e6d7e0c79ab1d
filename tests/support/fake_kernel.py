"""The fake kernel behind the OVS first-boot tests' `ip` and `ping`.

The script under test calls `ip` some 40 times a run. Each call used to start a Python fake
(~50 ms: interpreter, imports, an `ovs-vsctl` to list internal interfaces), which was most of
those tests' time. Now `ip` and `ping` on PATH are small bash clients (`client()`) that hand
their arguments to this module over loopback TCP (bash's /dev/tcp) and print its answer: one
server thread per test process, the same rules and the same JSON state file as before.

Rules that matter for the script: a device exists when it is a NIC or an OVS internal
interface, deleting an address drops the routes through it, a default route needs a gateway
on a connected subnet, ping answers only when the target is on a connected subnet (or fails
on demand).
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import socket
import socketserver
import threading
import traceback
from pathlib import Path
from typing import Any

State = dict[str, Any]


class Exit(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def internal_ifaces(sock: Path) -> list[str]:
    """OVS internal interfaces (the kernel devices ovs-vswitchd would make), from the database
    itself over OVSDB's JSON-RPC: what `ovs-vsctl find Interface type=internal` reads."""
    select = {"op": "select", "table": "Interface", "columns": ["name"]}
    select["where"] = [["type", "==", "internal"]]
    req = {"method": "transact", "id": 0, "params": ["Open_vSwitch", select]}
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        s.sendall(json.dumps(req).encode())
        buf, decoder = "", json.JSONDecoder()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("ovsdb-server closed the connection")
            buf += chunk.decode()
            try:
                reply, _ = decoder.raw_decode(buf)
            except ValueError:
                continue
            if reply.get("id") == 0:
                break
            buf = ""  # not our reply (an echo request): drop it
    if reply.get("error") or "error" in reply["result"][0]:
        raise RuntimeError(f"ovsdb select failed: {reply}")
    return sorted(row["name"] for row in reply["result"][0]["rows"])


def _kw(words: list[str], key: str) -> str | None:
    return words[words.index(key) + 1] if key in words else None


def _nets(st: State, dev: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_interface(c).network for d, c in st["addrs"] if d == dev]


def _link(st: State, devices: list[str], verb: str, rest: list[str], out: list[str]) -> None:
    if verb == "show":
        for d in devices:
            flags = "BROADCAST,MULTICAST" + (",UP,LOWER_UP" if d in st["up"] else "")
            out.append(
                f"{devices.index(d) + 2}: {d}: <{flags}> mtu 1500 qdisc noqueue state UNKNOWN"
            )
        return
    d = _need(devices, _kw(rest, "dev"))
    if rest[-1] == "up" and d not in st["up"]:
        st["up"].append(d)
    elif rest[-1] == "down" and d in st["up"]:
        st["up"].remove(d)


def _addr(st: State, devices: list[str], verb: str, rest: list[str], out: list[str]) -> None:
    if verb == "show":
        for d, cidr in st["addrs"]:
            i = ipaddress.ip_interface(cidr)
            kind = "inet" if i.version == 4 else "inet6"
            brd = f" brd {i.network.broadcast_address}" if i.version == 4 else ""
            out.append(
                f"{devices.index(d) + 2}: {d}    {kind} {cidr}{brd} scope global {d}\\"
                "       valid_lft forever preferred_lft forever"
            )
        return
    cidr, d = rest[0], _need(devices, _kw(rest, "dev"))
    if verb == "add":
        if [d, cidr] in st["addrs"]:
            raise Exit(2, "RTNETLINK answers: File exists")
        st["addrs"].append([d, cidr])
        return
    if [d, cidr] not in st["addrs"]:
        raise Exit(2, "RTNETLINK answers: Cannot assign requested address")
    st["addrs"].remove([d, cidr])
    nets = _nets(st, d)
    st["routes"] = [
        r
        for r in st["routes"]
        if r["dev"] != d or any(ipaddress.ip_address(r["via"]) in n for n in nets)
    ]


def _metric(line: str) -> str:
    return _kw(line.split(), "metric") or "0"


def _route(st: State, devices: list[str], fam: int | None, verb: str, rest: list[str]) -> str:
    if verb == "show":
        return "".join(r["line"] + "\n" for r in st["routes"] if r["fam"] == fam)
    d, via = _kw(rest, "dev"), _kw(rest, "via")
    line = " ".join(rest)
    same = [r for r in st["routes"] if r["fam"] == fam and r["dev"] == d and r["via"] == via]
    if verb == "del":
        if not same:
            raise Exit(2, "RTNETLINK answers: No such process")
        st["routes"] = [r for r in st["routes"] if r not in same]
        return ""
    d = _need(devices, d)
    if not any(ipaddress.ip_address(via) in n for n in _nets(st, d)):
        raise Exit(2, "Error: Nexthop has invalid gateway.")
    metric = _kw(rest, "metric") or "0"
    st["routes"] = [
        r for r in st["routes"] if not (r["fam"] == fam and _metric(r["line"]) == metric)
    ]
    st["routes"].append({"fam": fam, "dev": d, "via": via, "line": line})
    return ""


def _need(devices: list[str], dev: str | None) -> str:
    if dev not in devices:
        raise Exit(1, f'Cannot find device "{dev}"')
    return dev


def ip(st: State, ovs_sock: Path, argv: list[str]) -> str:
    """iproute2's `ip`: the subset cloudbr-ovs-firstboot uses. Changes `st`; returns stdout."""
    devices = list(st["nics"]) + [n for n in internal_ifaces(ovs_sock) if n not in st["nics"]]
    # A deleted OVS bridge takes its kernel device, addresses and routes with it.
    st["addrs"] = [a for a in st["addrs"] if a[0] in devices]
    st["routes"] = [r for r in st["routes"] if r["dev"] in devices]
    st["up"] = [d for d in st["up"] if d in devices]
    args, fam = list(argv), None
    while args and args[0] in ("-o", "-4", "-6"):
        if args[0] != "-o":
            fam = int(args[0][1:])
        args = args[1:]
    obj, verb, rest = args[0], args[1], args[2:]
    out: list[str] = []
    if obj == "link" and verb in ("show", "set"):
        _link(st, devices, verb, rest, out)
    elif obj == "addr" and verb in ("show", "add", "del"):
        _addr(st, devices, verb, rest, out)
    elif obj == "route" and verb in ("show", "replace", "del"):
        return _route(st, devices, fam, verb, rest)
    else:
        raise Exit(255, f"fake ip: unsupported {argv}")
    return "".join(line + "\n" for line in out)


def ping(st: State, mode: str, log: Path, argv: list[str]) -> int:
    """Answers when the target is on a connected subnet of a device that is up, unless
    FAKE_PING=fail (never) or fail-after-first (only the first probe of a run)."""
    if mode == "fail" or (mode == "fail-after-first" and len(log.read_text().splitlines()) > 1):
        return 1
    target = ipaddress.ip_address(argv[-1])
    up = [ipaddress.ip_interface(c) for d, c in st["addrs"] if d in st["up"]]
    return 0 if any(target in i.network for i in up) else 1


def _load(path: Path) -> State:
    st: State = json.loads(path.read_text())
    return st


def _save(path: Path, st: State) -> None:
    path.write_text(json.dumps(st, indent=1, sort_keys=True))


def _log(path: Path, argv: list[str]) -> None:
    with path.open("a") as log:
        log.write(json.dumps(argv) + "\n")


def call(
    tool: str, ovs_sock: Path, kernel: Path, log: Path, mode: str, argv: list[str]
) -> tuple[int, str, str]:
    """One `ip` or `ping` call: (exit code, stdout, stderr), state and log on disk as before."""
    _log(log, argv)
    if tool == "ping":
        if mode == "fail":
            return 1, "", ""
        return ping(_load(kernel), mode, log, argv), "", ""
    st = _load(kernel)
    try:
        out = ip(st, ovs_sock, argv)
    except Exit as e:
        _save(kernel, st)
        return e.code, "", str(e) + "\n"
    _save(kernel, st)
    return 0, out, ""


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        buf = b""
        while True:
            fields = buf.split(b"\0")
            if len(fields) > 6 and len(fields) >= 7 + int(fields[5]):
                break
            chunk = self.request.recv(65536)
            if not chunk:
                return
            buf += chunk
        tool, sock, kernel, log, mode, argc, *rest = (f.decode() for f in fields)
        try:
            rc, out, err = call(tool, Path(sock), Path(kernel), Path(log), mode, rest[: int(argc)])
        except Exception:  # a bug in the fake: show it in the script's stderr
            rc, out, err = 255, "", traceback.format_exc()
        self.request.sendall(f"{rc}\0{err}\0{out}\0".encode())


_server: socketserver.TCPServer | None = None
_lock = threading.Lock()


def port() -> int:
    """This process's fake-kernel server (started on first use, a daemon thread)."""
    global _server
    with _lock:
        if _server is None:
            _server = socketserver.TCPServer(("127.0.0.1", 0), _Handler)
            threading.Thread(target=_server.serve_forever, daemon=True).start()
        return int(_server.server_address[1])


CLIENT = """#!/bin/bash
# Fake {tool}: the fake kernel is tests/support/fake_kernel.py in the test process.
exec 3<>/dev/tcp/127.0.0.1/{port} || exit 255
printf '%s\\0' {tool} {sock} "${{FAKE_KERNEL-}}" "${{{log}-}}" "${{FAKE_PING-}}" "$#" "$@" >&3
IFS= read -r -d '' rc <&3 || exit 255
IFS= read -r -d '' err <&3
IFS= read -r -d '' out <&3
printf '%s' "$out"
printf '%s' "$err" >&2
exit "$rc"
"""


def client(tool: str, ovs_sock: Path) -> str:
    """The `ip` or `ping` to put on the script's PATH."""
    log = "FAKE_IP_LOG" if tool == "ip" else "FAKE_PING_LOG"
    return CLIENT.format(tool=tool, port=port(), sock=shlex.quote(str(ovs_sock)), log=log)
