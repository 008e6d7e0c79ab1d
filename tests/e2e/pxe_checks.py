"""What the PXE e2e case (pxe_case.py) asserts, from the servers' logs and the serial consoles.

Expected values come from the inventory (MACs, addresses, host names) and from the consumers'
own syntax (dracut's `ip=`, debian-installer's `auto=true priority=critical url=`), never
from cloudbr's renderers; URLs are taken from the boot line and must be what nginx served.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ACCESS = re.compile(r'^(\S+) (\d{3}) (\d+) "GET (\S+) HTTP/[\d.]+"$')
SERVER = "192.168.100.2"
HTTP_URL = f"http://{SERVER}/cloudbr"
DOMAIN = "e2e.test"
# Runs in the namespace: GET a URL path from a given source address; prints status and size.
FETCH = (
    "import http.client, sys\n"
    "c = http.client.HTTPConnection(sys.argv[1], 80, timeout=10, source_address=(sys.argv[3], 0))\n"
    "c.request('GET', sys.argv[2]); r = c.getresponse(); print(r.status, len(r.read()))\n"
)


@dataclass(frozen=True)
class PxeGuest:
    host: str
    distro: str
    mac: str
    address: str


@dataclass
class Checks:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: Any) -> None:
        self.items.append({"name": name, "ok": bool(ok), "detail": detail})


class Run(Protocol):
    workdir: Path
    out: Path
    checks: Checks
    dnsmasq_log: Path
    lease_log: Path
    access_log: Path
    proxy: bool

    def serial(self, g: PxeGuest) -> Path: ...


def text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def requests(log: Path) -> list[dict[str, str]]:
    out = []
    for line in text(log).splitlines():
        m = ACCESS.match(line.strip())
        if m:
            out.append({"addr": m[1], "status": m[2], "bytes": m[3], "path": m[4]})
    return out


def kernel_cmdline(serial: str) -> list[str]:
    m = re.search(r"Kernel command line: (.*)", serial)
    return m[1].strip().split() if m else []


def fetch(ns: str, path: str, source: str) -> tuple[int, int]:
    res = subprocess.run(
        ["ip", "netns", "exec", ns, "python3", "-c", FETCH, SERVER, path, source],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    status, _, size = res.stdout.strip().partition(" ")
    return (int(status), int(size)) if size else (0, 0)


def _param(cmdline: list[str], key: str) -> str:
    return next((p.split("=", 1)[1] for p in cmdline if p.startswith(f"{key}=")), "")


def _common(run: Run, g: PxeGuest) -> list[str]:
    """Per guest: its dhcp-host lease, its MAC's script over HTTP, the script on its console."""
    c = run.checks
    if run.proxy:
        acks = [ln for ln in text(run.lease_log).splitlines() if "DHCPACK(tap0)" in ln]
        c.add(f"{g.host}: the network's DHCP server gave it an address", bool(acks), acks)
        pxe = [ln for ln in text(run.dnsmasq_log).splitlines() if g.mac in ln]
        chain = f"{g.mac} {HTTP_URL}/pxe/boot.ipxe"
        c.add(
            f"{g.host}: proxy-DHCP (pxe-service) sent its iPXE the chain script",
            any(ln.endswith(chain) for ln in pxe),
            pxe,
        )
    else:
        acks = [
            ln for ln in text(run.dnsmasq_log).splitlines() if f"DHCPACK(tap0) {g.address}" in ln
        ]
        c.add(
            f"{g.host}: dhcp-host gave its MAC its install address and name",
            any(ln.endswith(f"DHCPACK(tap0) {g.address} {g.mac} {g.host}") for ln in acks),
            acks,
        )
    # iPXE's address: the dhcp-host one, or (proxy mode) what the network's server leased.
    ipxe_addresses = (g.address, *leased(run))
    got = [
        r["path"]
        for r in requests(run.access_log)
        if r["status"] == "200" and r["addr"] in ipxe_addresses
    ]
    script = f"/cloudbr/pxe/ipxe/{g.mac.replace(':', '-')}.ipxe"
    c.add(
        f"{g.host}: iPXE fetched the chain script, then its MAC's own",
        got[:2] == ["/cloudbr/pxe/boot.ipxe", script],
        got,
    )
    serial = text(run.serial(g))
    c.add(
        f"{g.host}: serial console shows its MAC's script ran",
        f"cloudbr: installing {g.host}.{DOMAIN} ({g.distro})" in serial,
        serial[-300:],
    )
    cmdline = kernel_cmdline(serial)
    c.add(f"{g.host}: the installer kernel started", bool(cmdline), serial[-300:])
    return cmdline


def verify_debian(run: Run, ns: str, g: PxeGuest) -> None:
    c = run.checks
    cmdline = _common(run, g)
    url = _param(cmdline, "url")
    want = {"auto=true", "priority=critical", f"netcfg/get_ipaddress={g.address}"}
    c.add(
        f"{g.host}: d-i command line: auto, critical priority, its static address, url=",
        want <= set(cmdline) and url.startswith(f"{HTTP_URL}/"),
        cmdline,
    )
    acks = [ln for ln in text(run.dnsmasq_log).splitlines() if f"DHCPACK(tap0) {g.address}" in ln]
    # d-i asking DHCP would get the same dhcp-host address: prove it did not ask.
    c.add(f"{g.host}: d-i used the boot line's static network (one lease)", len(acks) == 1, acks)
    path = url.removeprefix(f"http://{SERVER}")
    document = run.out / g.host / "preseed.cfg"
    served = [r for r in requests(run.access_log) if r["path"] == path and r["addr"] == g.address]
    c.add(
        f"{g.host}: d-i fetched exactly the boot line's url=, its own preseed, whole",
        path.endswith(f"/{g.host}/preseed.cfg")
        and [(r["status"], int(r["bytes"])) for r in served] == [("200", document.stat().st_size)],
        {"served": served, "size": document.stat().st_size},
    )
    c.add(
        f"{g.host}: its preseed is refused to another address",
        fetch(ns, path, SERVER)[0] == 403,
        path,
    )
    # Its early_command: the first-boot program, relative to the preseed, checked, then on.
    program = run.out / "_preseed" / "cloudbr-ovs-firstboot"
    beside = path.removesuffix("preseed.cfg") + program.name
    got = [r for r in requests(run.access_log) if r["path"] == beside and r["addr"] == g.address]
    c.add(
        f"{g.host}: d-i fetched the shared program from beside its preseed, whole",
        [(r["status"], int(r["bytes"])) for r in got] == [("200", program.stat().st_size)],
        {"served": got, "size": program.stat().st_size},
    )
    serial = text(run.serial(g))
    c.add(
        f"{g.host}: its early_command passed (d-i went on; no preseed/command_failed)",
        "Bad archive mirror" in serial and "Failed to run preseeded command" not in serial,
        serial[-400:],
    )


def verify_el_standin(run: Run, ns: str, g: PxeGuest) -> None:
    c = run.checks
    cmdline = _common(run, g)
    # dracut: ip=<client>:<peer>:<gateway>:<netmask>:<hostname>:<interface>:none
    ip = f"{g.address}::192.168.100.1:255.255.255.0:{g.host}.{DOMAIN}:eth0:none"
    ks = _param(cmdline, "inst.ks")
    c.add(
        f"{g.host}: EL command line: inst.ks= its kickstart, ip= its static install network",
        f"ip={ip}" in cmdline
        and ks.startswith(f"{HTTP_URL}/")
        and ks.endswith(f"/{g.host}/kickstart.cfg"),
        cmdline,
    )
    # The stand-in runs no anaconda: fetch inst.ks from the guest's address, as anaconda would.
    path = ks.removeprefix(f"http://{SERVER}")
    subprocess.run(
        ["ip", "-n", ns, "addr", "add", f"{g.address}/32", "dev", "tap0"], check=True, timeout=30
    )
    got = fetch(ns, path, g.address)
    size = (run.out / g.host / "kickstart.cfg").stat().st_size
    c.add(
        f"{g.host}: inst.ks= serves its own kickstart to its address",
        got == (200, size),
        {"got": got, "size": size},
    )


def leased(run: Run) -> list[str]:
    """Addresses the network's DHCP server leased (proxy mode: iPXE's address)."""
    return re.findall(r"DHCPACK\(tap0\) (\S+)", text(run.lease_log)) if run.proxy else []


def verify(run: Run, ns: str) -> None:
    from .pxe_case import GUESTS

    d12, c7 = GUESTS
    if not run.proxy:
        verify_debian(run, ns, d12)
    verify_el_standin(run, ns, c7)
