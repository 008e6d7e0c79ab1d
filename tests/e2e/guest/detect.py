"""Failover detection time, on the guest's own clock (runs in the guest, beside check.py).

Ping outages measured across two TCG guests are blurred by how the host schedules them; the
guest's kernel knows when its member lost carrier and when its bond chose a new member:

- the moment of carrier loss: a kprobe on netif_carrier_off (virtio-net calls it when QEMU
  drops the link), with the device's name (struct net_device's first field);
- a Linux bond's switch: the bonding driver's own kernel log line "<bond>: (slave <new>):
  making interface the new active one", taken from the printk:console tracepoint, which
  records every kernel log line in the same trace buffer and clock as the kprobe;
- an OVS bond's switch: ovs-vswitchd's log line "bond <bond>: active member is now <new>"
  (wall clock, ms, UTC), put on the same clock by the guest's realtime - monotonic offset.

The trace clock is `mono` (CLOCK_MONOTONIC). Detection = new active member - carrier loss;
the target is 2 x miimon (the bond polls the carrier every miimon ms).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

TRACEFS = Path("/sys/kernel/tracing")
GROUP = "cloudbre2e"
OVS_LOG = Path("/var/log/openvswitch/ovs-vswitchd.log")
_EVENT = re.compile(r"\s(\d+\.\d+): (carrier_off|console): (.*)$")
_OVS_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z\|\d+\|bond\|\w+\|(.*)$")


def _write(name: str, value: str, append: bool = False) -> None:
    """As the shell's `echo value >[>] file`: open(2) + write(2). Python's open(..., "a")
    would also lseek to the end, which tracefs' kprobe_events refuses (EINVAL)."""
    fd = os.open(TRACEFS / name, os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    try:
        os.write(fd, (value + "\n").encode())
    finally:
        os.close(fd)


# Tried in order: the kernels differ in which fetch-argument forms they take.
KPROBES = (
    f"p:{GROUP}/carrier_off netif_carrier_off dev=+0(%di):string",
    f"p:{GROUP}/carrier_off netif_carrier_off dev=+0($arg1):string",
)


def _kprobe() -> str | None:
    """Register the carrier-loss probe; an error (with the kernel's error_log), or None."""
    if (TRACEFS / "events" / GROUP / "carrier_off").exists():
        return None
    errors = []
    for probe in KPROBES:
        try:
            _write("kprobe_events", probe, append=True)
            return None
        except OSError as exc:
            errors.append(f"{probe!r}: {exc.strerror}")
    log = TRACEFS / "error_log"
    detail = log.read_text(errors="replace")[-600:] if log.exists() else ""
    return "kprobe_events: " + "; ".join(errors) + (f"; error_log: {detail}" if detail else "")


def arm() -> str | None:
    """Start recording carrier losses and kernel log lines; an error message, or None."""
    if not (TRACEFS / "kprobe_events").exists():
        subprocess.run(["mount", "-t", "tracefs", "tracefs", str(TRACEFS)], check=False)
    steps = [("tracing_on", "0"), ("trace_clock", "mono"), ("trace", "")]
    try:
        for name, value in steps:
            _write(name, value)
    except OSError as exc:
        return f"{TRACEFS / name}: {exc.strerror}"
    error = _kprobe()
    if error:
        return error
    steps = [(f"events/{GROUP}/carrier_off/enable", "1"), ("events/printk/console/enable", "1")]
    try:
        for name, value in [*steps, ("tracing_on", "1")]:
            _write(name, value)
    except OSError as exc:
        return f"{TRACEFS / name}: {exc.strerror}"
    return None


def trace_events() -> list[tuple[float, str, str]]:
    """(monotonic s, event, text) from the trace buffer: carrier_off -> the device name."""
    events = []
    for line in (TRACEFS / "trace").read_text(errors="replace").splitlines():
        m = _EVENT.search(line)
        if not m:
            continue
        stamp, kind, text = float(m.group(1)), m.group(2), m.group(3)
        if kind == "carrier_off":
            dev = re.search(r'dev="([^"]*)"', text)
            text = dev.group(1) if dev else text
        events.append((stamp, kind, text))
    return events


def ovs_events(log: str, offset_s: float) -> list[tuple[float, str, str]]:
    """ovs-vswitchd's bond lines as (monotonic s, "ovs", text); offset = realtime - mono."""
    out = []
    for line in log.splitlines():
        m = _OVS_LINE.match(line)
        if m:
            wall = dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=dt.UTC).timestamp()
            out.append((wall - offset_s, "ovs", m.group(2)))
    return out


def detection(
    events: list[tuple[float, str, str]], bond: str, member: str, miimon_ms: int, ovs: bool
) -> dict[str, Any]:
    """From the first carrier loss of `member` to the first later switch of `bond` to another
    member. `events`: (monotonic s, kind, text), kinds carrier_off / console / ovs."""
    events = sorted(events)
    lost = next((t for t, k, x in events if k == "carrier_off" and x == member), None)
    out: dict[str, Any] = {"member": member, "target_ms": 2 * miimon_ms, "ok": False}
    if lost is None:
        out["error"] = f"no carrier loss of {member} recorded"
        return out
    if ovs:
        switch = re.compile(
            rf"bond {re.escape(bond)}: active (?:member|interface|slave) is now ([^\s,]+)"
        )
        down = re.compile(rf"(?:member|interface|slave) {re.escape(member)}: link state down")
        kind = "ovs"
    else:
        b = re.escape(bond)
        switch = re.compile(rf"^{b}: \(slave (\S+)\): making interface the new active one")
        down = re.compile(rf"^{b}: \(slave {re.escape(member)}\): link status (?:definitely )?down")
        kind = "console"
    later = [(t, x) for t, k, x in events if k == kind and t >= lost]
    seen_down = next((t for t, x in later if down.search(x)), None)
    if seen_down is not None:
        out["driver_saw_down_ms"] = round((seen_down - lost) * 1000, 1)
    for t, text in later:
        m = switch.search(text)
        if m and m.group(1) != member:
            ms = round((t - lost) * 1000, 1)
            out.update(ms=ms, new_active=m.group(1), line=text, ok=ms <= 2 * miimon_ms)
            return out
    out["error"] = f"no switch of {bond} away from {member} logged after its carrier loss"
    return out


def measure(bond: str, member: str, miimon_ms: int, ovs: bool) -> dict[str, Any]:
    """Read what arm() recorded (and ovs-vswitchd's log) and compute the detection time."""
    try:
        events = trace_events()
        _write("tracing_on", "0")
        if ovs:
            offset = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(
                time.CLOCK_MONOTONIC
            )
            log = OVS_LOG.read_text(errors="replace") if OVS_LOG.exists() else ""
            events += ovs_events(log, offset)
    except OSError as exc:
        return {"ok": False, "error": f"reading the guest's timestamps: {exc}"}
    return detection(events, bond, member, miimon_ms, ovs)
