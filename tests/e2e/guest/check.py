#!/usr/bin/python3
"""In-guest checks for the cloudbr e2e harness (runs as cloudbr-e2e-case.service).

Reads case.json, waits (bounded) until the expected addresses/route exist, checks bonds,
bridges, VLANs, addresses, routes, OVS and pings, optionally measures a failover, and reports
`CLOUDBR-EVENT <name> {json}` / `CLOUDBR-RESULT {json}` lines on ttyS1 and the console.

case.json keys (all optional):
  poweroff: bool (default true)        wait_s: bounded wait for "networked" (default 180)
  settle_s: wait for network-online.target before checking (default 90)
  wait_cloud_init: bool                extra_check_timeout_s: int (default 120)
  journal_lines: int (attach the tail of this boot's journal to the result)
  expect:
    addresses: {dev: ["192.168.100.20/24", ...]}   default_route: {via, dev}
    links_up: [dev, ...]                           bridges: {br: {ports: [dev, ...]}}
    bonds: {bond: {mode, miimon, slaves: [...], active}}
    vlans: {dev: {id, link}}                       absent: [dev, ...]
    ovs_bridges: [br, ...]                         ovs_fake_bridges: {br: {parent, vlan}}
    ovs_bonds: {bond: {bond_mode, miimon, members: [...], active}}
    ping: [{dst, timeout_s}]
  failover: {dst, bond, ovs: bool, miimon, interval: 0.01, duration_s: 8, arm_after_s: 1}
    (emits EVENT failover-armed {active, nic}; the harness then downs that NIC; the guest's
    own detection time, carrier loss -> new active member, is measured by detect.py against
    2 x miimon, default the bond's running miimon)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from traceback import format_exc
from typing import Any, TextIO

Check = dict[str, Any]
BASE = Path("/opt/cloudbr-e2e")


class Reporter:
    def __init__(self) -> None:
        self.port: TextIO | None
        try:
            self.port = open("/dev/ttyS1", "w")  # noqa: SIM115 - lives as long as the process
        except OSError:
            self.port = None

    def send(self, line: str) -> None:
        # One write per line keeps markers whole on a shared console.
        print(line, flush=True)
        if self.port is not None:
            self.port.write(line + "\n")
            self.port.flush()

    def event(self, name: str, /, **data: Any) -> None:
        self.send(f"CLOUDBR-EVENT {name} {json.dumps({'uptime': uptime(), **data})}")

    def result(self, data: dict[str, Any]) -> None:
        self.send(f"CLOUDBR-RESULT {json.dumps(data, separators=(',', ':'))}")


def uptime() -> float:
    return round(float(Path("/proc/uptime").read_text().split()[0]), 2)


def run(argv: list[str], timeout: float = 30, stderr: bool = True) -> tuple[int, str]:
    """(returncode, output); output is stdout (+ stderr unless told not to), stripped."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return p.returncode, (p.stdout + (p.stderr if stderr else "")).strip()


def ip_json(*args: str) -> list[dict[str, Any]]:
    rc, out = run(["ip", "-j", *args], stderr=False)
    if rc != 0 or not out:
        return []
    try:
        # raw_decode: tolerate anything after the JSON document.
        data: list[dict[str, Any]] = json.JSONDecoder().raw_decode(out)[0]
    except json.JSONDecodeError:
        return []
    return data


def addresses() -> dict[str, list[str]]:
    return {
        link["ifname"]: [
            f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", []) if "local" in a
        ]
        for link in ip_json("addr", "show")
    }


def default_route() -> dict[str, Any]:
    routes = ip_json("-4", "route", "show", "default")
    return routes[0] if routes else {}


def sysfs(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def check(name: str, ok: bool, detail: Any = None) -> Check:
    return {"name": name, "ok": bool(ok), "detail": detail}


# -- waiting ---------------------------------------------------------------------------------
def networked(expect: dict[str, Any]) -> bool:
    """The expected addresses, default route and bond active members are all there."""
    have = addresses()
    for dev, wanted in expect.get("addresses", {}).items():
        if not set(wanted) <= set(have.get(dev, [])):
            return False
    want_route = expect.get("default_route")
    if want_route and default_route().get("gateway") != want_route.get("via"):
        return False
    return all(
        sysfs(f"/sys/class/net/{bond}/bonding/active_slave")
        for bond, want in expect.get("bonds", {}).items()
        if want.get("active")
    )


def wait_networked(expect: dict[str, Any], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if networked(expect):
            return True
        time.sleep(0.5)
    return networked(expect)


def wait_active(unit: str, timeout: float) -> float | None:
    """Uptime when `unit` became active, None if not within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run(["systemctl", "is-active", "--quiet", unit])[0] == 0:
            return uptime()
        time.sleep(1)
    return None


# -- checks ----------------------------------------------------------------------------------
def check_linux(expect: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    have = addresses()
    for dev, wanted in expect.get("addresses", {}).items():
        cidrs = have.get(dev)
        out.append(check(f"addr {dev}", cidrs is not None and set(wanted) <= set(cidrs), cidrs))
    for dev in expect.get("absent", []):
        out.append(check(f"absent {dev}", dev not in have, sorted(have)))
    want_route = expect.get("default_route")
    if want_route:
        route = default_route()
        ok = route.get("gateway") == want_route.get("via") and (
            "dev" not in want_route or route.get("dev") == want_route["dev"]
        )
        out.append(check("default route", ok, route))
    links = {link["ifname"]: link for link in ip_json("link", "show")}
    for dev in expect.get("links_up", []):
        flags = links.get(dev, {}).get("flags", [])
        out.append(check(f"up {dev}", "UP" in flags and "LOWER_UP" in flags, flags))
    for br, want in expect.get("bridges", {}).items():
        is_bridge = Path(f"/sys/class/net/{br}/bridge").is_dir()
        brif = f"/sys/class/net/{br}/brif"
        ports = sorted(os.listdir(brif)) if os.path.isdir(brif) else []
        ok = is_bridge and set(want.get("ports", [])) <= set(ports)
        out.append(check(f"bridge {br}", ok, {"linux_bridge": is_bridge, "ports": ports}))
    for bond, want in expect.get("bonds", {}).items():
        d = f"/sys/class/net/{bond}/bonding"
        got: dict[str, Any] = {
            "mode": sysfs(f"{d}/mode").split(" ")[0],
            "miimon": int(sysfs(f"{d}/miimon") or -1),
            "slaves": sysfs(f"{d}/slaves").split(),
            "active": sysfs(f"{d}/active_slave"),
        }
        ok = all(
            set(v) <= set(got["slaves"]) if k == "slaves" else got.get(k) == v
            for k, v in want.items()
        )
        out.append(check(f"bond {bond}", ok, got))
    for dev, want in expect.get("vlans", {}).items():
        info = ip_json("-d", "link", "show", dev)
        li = info[0].get("linkinfo", {}) if info else {}
        vlan = {
            "kind": li.get("info_kind"),
            "id": li.get("info_data", {}).get("id"),
            "link": info[0].get("link") if info else None,
        }
        ok = vlan["kind"] == "vlan" and vlan["id"] == want.get("id")
        ok = ok and ("link" not in want or vlan["link"] == want["link"])
        out.append(check(f"vlan {dev}", ok, vlan))
    return out


def ovs_bond_show(bond: str) -> dict[str, Any]:
    rc, text = run(["ovs-appctl", "bond/show", bond])
    members: dict[str, str] = {}
    active = None
    current = None
    mode = None
    for line in text.splitlines():
        if m := re.match(r"bond_mode:\s*(\S+)", line):
            mode = m.group(1)
        if m := re.match(r"(?:member|slave) (\S+): (\w+)", line):
            current = m.group(1)
            members[current] = m.group(2)
        elif current and re.search(r"active (member|slave)$", line.strip()):
            active = current
    return {"rc": rc, "bond_mode": mode, "members": members, "active": active}


def check_ovs(expect: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    vsctl = ["ovs-vsctl", "--timeout=20"]
    for br in expect.get("ovs_bridges", []):
        rc, text = run([*vsctl, "br-exists", br])
        out.append(check(f"ovs bridge {br}", rc == 0, text or rc))
    for br, want in expect.get("ovs_fake_bridges", {}).items():
        _, parent = run([*vsctl, "br-to-parent", br], stderr=False)
        _, vlan = run([*vsctl, "br-to-vlan", br], stderr=False)
        fake: dict[str, Any] = {"parent": parent, "vlan": int(vlan) if vlan.isdigit() else vlan}
        ok = fake["parent"] == want.get("parent") and fake["vlan"] == want.get("vlan")
        out.append(check(f"ovs fake bridge {br}", ok, fake))
    for bond, want in expect.get("ovs_bonds", {}).items():
        got = ovs_bond_show(bond)
        _, miimon = run(
            [*vsctl, "get", "port", bond, "other_config:bond-miimon-interval"], stderr=False
        )
        _, detect = run(
            [*vsctl, "get", "port", bond, "other_config:bond-detect-mode"], stderr=False
        )
        got["miimon"] = int(miimon.strip('"')) if miimon.strip('"').isdigit() else miimon
        got["detect_mode"] = detect.strip('"')
        ok = got["rc"] == 0
        for key, value in want.items():
            if key == "members":
                ok = ok and set(value) <= set(got["members"])
            elif key == "miimon":
                ok = ok and got["miimon"] == value and got["detect_mode"] == "miimon"
            else:
                ok = ok and got.get(key) == value
        out.append(check(f"ovs bond {bond}", ok, got))
    return out


def ping_until(dst: str, timeout: float) -> tuple[bool, float]:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        rc, _ = run(["ping", "-n", "-c", "1", "-W", "1", dst], timeout=5)
        if rc == 0:
            return True, round(time.monotonic() - start, 2)
        time.sleep(0.5)
    return False, round(time.monotonic() - start, 2)


def check_no_ipv6(expect: dict[str, Any]) -> list[Check]:
    """`no_ipv6: [dev, ...]`: IPv6 is off for the host, so not even a link-local address."""
    devices = expect.get("no_ipv6", [])
    if not devices:
        return []
    have = addresses()
    v6 = {d: [a for a in have.get(d, []) if ":" in a] for d in devices}
    return [check("no IPv6 addresses", not any(v6.values()), {d: a for d, a in v6.items() if a})]


def check_failed_units(expect: dict[str, Any]) -> list[Check]:
    """`no_failed_units: true`: nothing failed at boot, but units named in `failed_allowed`."""
    if not expect.get("no_failed_units"):
        return []
    _, text = run(["systemctl", "--failed", "--plain", "--no-legend"])
    failed = [line.split()[0] for line in text.splitlines() if line.strip()]
    unexpected = [u for u in failed if u not in expect.get("failed_allowed", [])]
    # Why each unit failed (its result and last journal lines), so a report explains itself.
    why = {
        u: run(["journalctl", "-b", "-u", u, "-n", "6", "--no-pager", "-o", "cat"])[1]
        for u in failed
    }
    return [check("no failed units", not unexpected, {"failed": failed, "why": why})]


def check_pings(expect: dict[str, Any]) -> list[Check]:
    out = []
    for p in expect.get("ping", []):
        ok, took = ping_until(p["dst"], float(p.get("timeout_s", 60)))
        out.append(check(f"ping {p['dst']}", ok, {"seconds": took}))
    return out


# -- failover --------------------------------------------------------------------------------
def active_member(spec: dict[str, Any]) -> str | None:
    bond = spec.get("bond", "bond0")
    if spec.get("ovs"):
        active: str | None = ovs_bond_show(bond)["active"]
        return active
    return sysfs(f"/sys/class/net/{bond}/bonding/active_slave") or None


def running_miimon(spec: dict[str, Any]) -> int:
    bond = spec.get("bond", "bond0")
    if spec.get("ovs"):
        argv = ["ovs-vsctl", "get", "port", bond, "other_config:bond-miimon-interval"]
        value = run(argv, stderr=False)[1].strip('"')
    else:
        value = sysfs(f"/sys/class/net/{bond}/bonding/miimon") or ""
    return int(value) if value.isdigit() else 0


def wait_quiet(dst: str, timeout: float, max_rtt_ms: float = 20.0) -> float | None:
    """Wait (bounded) until the peer answers promptly: under TCG a peer still busy booting
    answers late, and its delay would be measured as failover outage. Returns the last
    burst's worst RTT in ms."""
    start = time.monotonic()
    worst = None
    while time.monotonic() - start < timeout:
        _, out = run(["ping", "-n", "-q", "-c", "20", "-i", "0.02", "-W", "1", dst], timeout=15)
        m = re.search(r"= [\d.]+/[\d.]+/([\d.]+)/", out)
        worst = float(m.group(1)) if m else None
        if worst is not None and worst < max_rtt_ms and re.search(r"\b0% packet loss", out):
            break
        time.sleep(1)
    return worst


def failover(spec: dict[str, Any], rep: Reporter) -> dict[str, Any]:
    interval = float(spec.get("interval", 0.01))
    duration = float(spec.get("duration_s", 8))
    dst = spec["dst"]
    ok, _ = ping_until(dst, float(spec.get("timeout_s", 60)))
    quiet_rtt_ms = wait_quiet(dst, float(spec.get("quiet_timeout_s", 90))) if ok else None
    before = active_member(spec)
    if not ok or not before:
        return {"ok": False, "error": "peer unreachable or no active member", "active": before}
    import detect  # beside this file in case.tar; only failover cases need it

    armed_error = detect.arm()
    argv = ["ping", "-n", "-D", "-i", str(interval), "-W", "1", "-w", str(int(duration)), dst]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(float(spec.get("arm_after_s", 1)))
    rep.event("failover-armed", active=before, nic=int(before.removeprefix("eth")))
    stdout, _ = proc.communicate(timeout=duration + 30)
    stamps: dict[int, float] = {}
    for m in re.finditer(r"\[(\d+\.\d+)\].*icmp_seq=(\d+)", stdout):
        stamps.setdefault(int(m.group(2)), float(m.group(1)))
    sent_m = re.search(r"(\d+) packets transmitted, (\d+) received", stdout)
    sent = int(sent_m.group(1)) if sent_m else 0
    times = [stamps[s] for s in sorted(stamps)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    max_gap_ms = round(max(gaps) * 1000, 1) if gaps else None
    after = active_member(spec)
    bond = spec.get("bond", "bond0")
    miimon = int(spec.get("miimon") or running_miimon(spec))
    detected = (
        {"ok": False, "error": armed_error, "target_ms": 2 * miimon}
        if armed_error
        else detect.measure(bond, before, miimon, bool(spec.get("ovs")))
    )
    return {
        "ok": bool(times) and after is not None and after != before,
        "detection": detected,
        "active_before": before,
        "active_after": after,
        "sent": sent,
        "received": len(stamps),
        "lost": sent - len(stamps),
        "interval_ms": interval * 1000,
        "max_gap_ms": max_gap_ms,
        # Outage = longest silence between two replies, less the normal spacing.
        "outage_ms": round(max(0.0, max_gap_ms - interval * 1000), 1) if max_gap_ms else None,
        "quiet_rtt_ms": quiet_rtt_ms,
    }


# -- main ------------------------------------------------------------------------------------
def facts() -> dict[str, Any]:
    bonding = {p.name: p.read_text() for p in Path("/proc/net/bonding").glob("*")}
    links = [
        {
            "name": link["ifname"],
            "kind": link.get("linkinfo", {}).get("info_kind"),
            "master": link.get("master"),
            "state": link.get("operstate"),
            "mac": link.get("address"),
        }
        for link in ip_json("-d", "link", "show")
    ]
    _, failed = run(["systemctl", "--failed", "--plain", "--no-legend"])
    _, ovs = (
        run(["ovs-vsctl", "--timeout=5", "show"])
        if Path("/run/openvswitch").exists()
        else (
            0,
            "",
        )
    )
    # Jobs still queued when the checks ran: what a slow boot was waiting for.
    _, jobs = run(["systemctl", "list-jobs", "--no-pager", "--no-legend"])
    inject = Path("/run/cloudbr-e2e-inject.log")
    return {
        "addresses": addresses(),
        "routes": ip_json("-4", "route", "show"),
        "links": links,
        "bonding": bonding,
        "ovs": ovs,
        "failed_units": failed.splitlines(),
        "inject": inject.read_text().splitlines() if inject.exists() else [],
        "pending_jobs": jobs.splitlines(),
        # Which renderer wrote what (cloud-init: 50-cloud-init.yaml means netplan).
        "netplan_files": sorted(p.name for p in Path("/etc/netplan").glob("*")),
    }


def main() -> int:
    case: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
    expect: dict[str, Any] = case.get("expect", {})
    rep = Reporter()
    rep.event("started", name=case.get("name"))
    checks: list[Check] = []
    t_net = None
    if wait_networked(expect, float(case.get("wait_s", 180))):
        t_net = uptime()
        rep.event("networked")
    else:
        checks.append(check("networked", False, "timed out waiting for addresses/route"))
    # Let the boot settle (bounded) so checks don't race units still starting.
    result_online = wait_active("network-online.target", float(case.get("settle_s", 90)))
    if case.get("wait_cloud_init"):
        rc, text = run(["cloud-init", "status", "--wait", "--long"], timeout=300)
        # rc 2 = finished with recoverable errors; "disabled" (no seed found) is a failure.
        checks.append(check("cloud-init", rc in (0, 2) and "status: done" in text, text[-800:]))
    checks += check_linux(expect) + check_ovs(expect) + check_pings(expect)
    checks += check_failed_units(expect) + check_no_ipv6(expect)
    result: dict[str, Any] = {
        "name": case.get("name"),
        "uptime_networked": t_net,
        "uptime_network_online": result_online,
    }
    if case.get("failover"):
        fo = failover(case["failover"], rep)
        checks.append(check("failover", fo["ok"], fo))
        if "detection" in fo:
            # Measured from the guest's own records, or the case fails. Whether it met
            # 2 x miimon is the table's verdict ("ok" here), like the ping outage beside it:
            # OVS polls in its main loop, which TCG on a loaded host delays.
            measured = fo["detection"].get("ms") is not None
            checks.append(check("failover detection", measured, fo["detection"]))
        result["failover"] = fo
    extra = BASE / "extra-check"
    if extra.exists():
        rc, text = run([str(extra)], timeout=float(case.get("extra_check_timeout_s", 120)))
        checks.append(check("extra-check", rc == 0, text[-2000:]))
    if case.get("journal_lines"):
        _, journal = run(["journalctl", "-b", "-o", "short-monotonic", "--no-pager"])
        result["journal"] = journal.splitlines()[-int(case["journal_lines"]) :]
    result.update(
        ok=all(c["ok"] for c in checks),
        checks=checks,
        uptime=uptime(),
        facts=facts(),
    )
    rep.result(result)
    if case.get("poweroff", True):
        # --force: skip the orderly stop of every unit (~20 s under TCG); nothing to save.
        run(["systemctl", "poweroff", "--force", "--no-block"])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        # Always report: a crash must fail the case now, not after the harness's timeout.
        Reporter().result({"ok": False, "checks": [check("check.py", False, format_exc())]})
        raise
