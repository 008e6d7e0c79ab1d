#!/usr/bin/python3
"""e2e extra check (in the guest): the shipped cloudbr-verify finds no drift on the booted
host; then, one at a time, a change is injected (a bond member removed, an address changed,
the OVS fake bridge deleted, a DNS server changed), verify must name exactly that change and
nothing else, the change is undone and verify must find no drift again. On later boots of the
same overlay (power cycles) only the no-drift run is repeated.

Targets are picked from /etc/cloudbr/plan.json (which bond, which bridge); what verify must
report is spelled out here as (subject, what) pairs, not recomputed from the plan.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

VERIFY = "/usr/local/sbin/cloudbr-verify"
AGENT_MERGE = "/usr/local/sbin/cloudbr-agent-properties"
AGENT = Path("/etc/cloudstack/agent/agent.properties")
RESOLV = Path("/etc/resolv.conf")
DONE = Path("/var/lib/cloudbr-e2e/drift-done")
WRONG_DNS = "192.0.2.53"  # TEST-NET-1: never queried, only written into the resolver config
PLAN: dict[str, Any] = json.loads(Path("/etc/cloudbr/plan.json").read_text())
failures: list[str] = []
counts = {"clean": 0, "clean_ok": 0, "drift": 0, "drift_ok": 0}


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


# Known product drift of this case, "subject|what;..." (a real finding, reported, not yet
# fixed): it must be reported every time, exactly, and is then taken out of the comparison.
KNOWN = {
    tuple(k.split("|", 1)) for k in os.environ.get("CLOUDBR_E2E_KNOWN_DRIFT", "").split(";") if k
}


def verify() -> tuple[int, list[dict[str, Any]]]:
    p = subprocess.run([VERIFY, "--json"], capture_output=True, text=True, timeout=120)
    if p.returncode not in (0, 1):
        return p.returncode, [{"error": p.stderr.strip()}]
    drift = json.loads(p.stdout)["drift"]
    if not KNOWN:
        return p.returncode, drift
    got = {(d.get("subject"), d.get("what")) for d in drift}
    if not KNOWN.issubset(got):
        failures.append(f"known drift {sorted(KNOWN)} no longer reported: fixed? drop it")
    rest = [d for d in drift if (d.get("subject"), d.get("what")) not in KNOWN]
    print(f"    known drift, reported as expected: {sorted(KNOWN & got)}")
    return (1 if rest else 0), rest


def expect_clean(when: str) -> None:
    rc, drift = verify()
    print(f"verify {when}: exit {rc}, {len(drift)} differences")
    counts["clean"] += 1
    counts["clean_ok"] += rc == 0 and not drift
    if rc != 0 or drift:
        failures.append(f"{when}: expected no drift, got exit {rc}: {json.dumps(drift)}")
        for d in drift:
            print(f"    {d}")
    elif when == "after boot":  # the table people read, once (each run costs TCG seconds)
        # (exit 1 where a known drift is left in the table)
        print(subprocess.run([VERIFY], capture_output=True, text=True, timeout=120).stdout.strip())


def expect_drift(name: str, inject: Callable[[], Any], want: set[tuple[str, str]]) -> None:
    """Inject, verify names exactly `want`, undo (inject returns the undo), verify clean."""
    undo = inject()
    try:
        rc, drift = verify()
        got = {(d.get("subject"), d.get("what")) for d in drift}
        print(f"drift '{name}': exit {rc}, reported {sorted(got)}")
        for d in drift:
            print(
                f"    {d.get('subject')} {d.get('what')}: {d.get('expected')} -> {d.get('found')}"
            )
        counts["drift"] += 1
        counts["drift_ok"] += rc == 1 and got == want
        if rc != 1 or got != want:
            failures.append(f"{name}: expected exit 1 and {sorted(want)}, got {rc}: {drift}")
    finally:
        undo()
    expect_clean(f"after undoing '{name}'")


def addresses(dev: str) -> list[str]:
    info = json.loads(sh("ip", "-j", "addr", "show", "dev", dev))
    return [
        f"{a['local']}/{a['prefixlen']}" for a in info[0]["addr_info"] if a["scope"] == "global"
    ]


def network_manager() -> bool:
    """NetworkManager runs here (the EL cases' keyfiles)."""
    return (
        subprocess.run(["systemctl", "is-active", "--quiet", "NetworkManager.service"]).returncode
        == 0
    )


def remove_bond_member() -> Callable[[], None]:
    bond = sorted(PLAN["bonds"])[-1]  # bond1: public traffic, no address, no failover test
    member = PLAN["bonds"][bond]["members"][-1]
    if network_manager():
        # NetworkManager re-attaches a port that `ip link set nomaster` takes out (within a
        # second): an operator takes it out through NetworkManager, which then leaves it out.
        sh("nmcli", "device", "disconnect", member)
        return lambda: sh("nmcli", "device", "connect", member) and None
    sh("ip", "link", "set", member, "nomaster")

    def undo() -> None:
        sh("ip", "link", "set", member, "down")
        sh("ip", "link", "set", member, "master", bond)
        sh("ip", "link", "set", member, "up")

    return undo


def storage_bridge() -> str:
    gateway_dev = (PLAN["default_routes"].get("4") or {}).get("dev")
    return next(
        n
        for n, i in sorted(PLAN["interfaces"].items())
        if i["addresses"] and i["kind"] == "bridge" and n != gateway_dev
    )


def change_address() -> Callable[[], None]:
    dev = storage_bridge()
    old = PLAN["interfaces"][dev]["addresses"][0]
    ip, prefix = old.split("/")
    head, last = ip.rsplit(".", 1)
    new = f"{head}.{(int(last) + 100) % 254 + 1}/{prefix}"
    # Delete first: deleting a subnet's primary address also deletes its secondaries unless
    # promote_secondaries is set (networkd sets it, ifupdown does not).
    sh("ip", "addr", "del", old, "dev", dev)
    sh("ip", "addr", "add", new, "dev", dev)

    def undo() -> None:
        sh("ip", "addr", "del", new, "dev", dev)
        sh("ip", "addr", "add", old, "dev", dev)

    return undo


def fake_bridge() -> str:
    return next(n for n, b in sorted(PLAN["bridges"].items()) if b["vlan"])


def delete_fake_bridge() -> Callable[[], None]:
    br = fake_bridge()
    vlan = PLAN["bridges"][br]["vlan"]
    ids = [line.split("=", 1) for line in sh("ovs-vsctl", "br-get-external-id", br).split()]
    addrs = addresses(br)
    sh("ovs-vsctl", "--timeout=20", "del-br", br)

    def undo() -> None:
        argv = ["ovs-vsctl", "--timeout=20", "add-br", br, vlan["parent"], str(vlan["id"])]
        for key, value in ids:
            argv += ["--", "br-set-external-id", br, key, value]
        sh(*argv)
        sh("ip", "link", "set", br, "up")
        for a in addrs:
            sh("ip", "addr", "add", a, "dev", br)

    return undo


def resolved() -> bool:
    """systemd-resolved's stub is the only nameserver (a comment may name it elsewhere)."""
    lines = [ln.split() for ln in RESOLV.read_text().splitlines()]
    return [w[1] for w in lines if len(w) > 1 and w[0] == "nameserver"] == ["127.0.0.53"]


def change_dns() -> Callable[[], None]:
    if resolved():  # systemd-resolved (the DIB images): per link, as networkd set it
        link = PLAN["default_routes"]["4"]["dev"]
        before = sh("resolvectl", "dns", link).split(":", 1)[1].split()
        sh("resolvectl", "dns", link, WRONG_DNS)
        return lambda: sh("resolvectl", "dns", link, *before) and None
    text = RESOLV.read_text()
    RESOLV.write_text(text.replace(f"nameserver {PLAN['dns'][0]}", f"nameserver {WRONG_DNS}"))
    return lambda: RESOLV.write_text(text) and None


def stand_ins() -> None:
    """What this test image lacks compared with an installed host, done as the host would."""
    if not AGENT.exists():
        # No cloudstack-agent here: run what its unit runs before every start (ExecStartPre).
        print(f"stand-in: {AGENT_MERGE} (the agent's ExecStartPre; no agent in this image)")
        sh(AGENT_MERGE)
    if os.environ.get("CLOUDBR_E2E_RESOLVER_STANDIN") == "1":
        # The harness image has neither resolvconf (preseed installs it) nor systemd-resolved
        # (the elements install it): write resolv.conf as resolvconf would. The no-drift DNS
        # result is therefore no proof of the renderers' DNS here; the injected change is.
        # The `make image` images get no stand-in: their resolver is the real one.
        servers = "".join(f"nameserver {s}\n" for s in PLAN["dns"])
        print("stand-in: /etc/resolv.conf with the plan's servers (no resolver package)")
        RESOLV.unlink(missing_ok=True)
        RESOLV.write_text(servers)


def main() -> int:
    stand_ins()
    expect_clean("after boot")
    if DONE.exists():
        print("drift injections ran on an earlier boot of this overlay")
    else:
        if PLAN["backend"] == "ovs":
            expect_drift("fake bridge deleted", delete_fake_bridge, {(fake_bridge(), "bridge")})
        else:
            bond = sorted(PLAN["bonds"])[-1]
            expect_drift("bond member removed", remove_bond_member, {(bond, "members")})
        expect_drift("address changed", change_address, {(storage_bridge(), "addresses")})
        if ("resolver", "dns servers") not in KNOWN:
            expect_drift("DNS server changed", change_dns, {("resolver", "dns servers")})
        DONE.parent.mkdir(parents=True, exist_ok=True)
        DONE.write_text("done\n")
        os.sync()  # the harness pulls the plug for a power cycle: keep the marker and undo
    for f in failures:
        print(f"FAIL {f}")
    # Read by the e2e runner's table (tests/e2e/__main__.py).
    print(
        f"VERIFY-SUMMARY no-drift {counts['clean_ok']}/{counts['clean']}"
        f" drift-named {counts['drift_ok']}/{counts['drift']}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
