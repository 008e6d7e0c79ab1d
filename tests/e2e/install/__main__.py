"""`python -m tests.e2e.install`: `make e2e-install` (issue 12, item 4).

Phases, each timed: 1. partial mirror (cached), 2. debian-installer installs e2e-inst from
cloudbr's preseed (+ the test overlay, install.py), 3. boot of the installed disk on the
harness's trunk switches next to e2e-inst-peer, 4. the harness's checks. The run stops at
the first phase that fails and says where; the exit status is 0 only if all four pass.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from cloudbr.inventory import load_inventory
from cloudbr.model import Host, Inventory
from cloudbr.pipeline import render_host
from cloudbr.topology import install_nic
from cloudbr.writer import write_tree

from ..cloudbr_cases import _case as host_case
from ..cloudbr_cases import expect_for
from ..harness import HostCase, Scenario, run_scenario
from ..image import BaseImage
from .disk import prepare
from .install import InstallNet, preseed_document, run_install
from .mirror import Mirror
from .netboot import Netboot
from .synthetic import synthetic_disk

HERE = Path(__file__).resolve().parent
INVENTORY = HERE / "inventory.yaml"
INSTALL_HOST = "e2e-inst"
PEER_HOST = "e2e-inst-peer"  # a harness guest with its rendered tree


def install_net(host: Host) -> InstallNet:
    """The preseed's own install network, as slirp must look for it to work unchanged."""
    address = host.primary_address
    gateway = host.primary_bridge.gateway4
    mirror = urlsplit(host.installer.mirror or "").hostname or ""
    if not isinstance(address, ipaddress.IPv4Interface) or gateway is None:
        raise SystemExit(f"{host.hostname}: the install test needs an IPv4 address and gateway")
    net = InstallNet(
        address=address,
        gateway=gateway,
        dns=ipaddress.IPv4Address(str(host.dns.servers[0])),
        mirror=ipaddress.IPv4Address(mirror),
    )
    for ip in (net.gateway, net.dns, net.mirror):
        if ip not in address.network:
            raise SystemExit(f"{host.hostname}: {ip} is outside {address.network}")
    return net


def netcfg_used_preseed(syslog: Path, host: Host) -> tuple[bool, str]:
    """d-i's netcfg configured the install NIC with the preseed's static address and found
    its gateway (lines of netcfg's own log, netcfg 1.187+deb12u1)."""
    text = syslog.read_text(errors="replace") if syslog.exists() else ""
    nic = install_nic(host)
    wanted = [
        f"executing: ip addr add {host.primary_address} broadcast "
        f"{host.primary_address.network.broadcast_address} dev {nic}",
        f"ARPING {host.primary_bridge.gateway4} from {host.primary_address.ip} {nic}",
        f"INFO: Gateway reachable on {nic}",
    ]
    missing = [w for w in wanted if w not in text]
    return not missing, f"not in d-i's syslog: {missing}"


def workdir() -> Path:
    base = Path(os.environ.get("CLOUDBR_E2E_WORKDIR", tempfile.gettempdir())) / "cloudbr-e2e"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="install-", dir=base))


def table(rows: list[tuple[str, str, str]]) -> str:
    rows = [("phase", "result", "seconds"), *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.e2e.install", description=__doc__)
    ap.add_argument(
        "--synthetic-disk",
        action="store_true",
        help="harness self-test of phases 3-4 on a stand-in disk (no install; synthetic.py)",
    )
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = workdir()
    print(f"e2e-install: workdir {work}", flush=True)
    inv = load_inventory(INVENTORY)
    out = work / "out"
    write_tree(out, ((h.hostname, render_host(h)) for h in inv.hosts))
    host = next(h for h in inv.hosts if h.hostname == INSTALL_HOST)
    if args.synthetic_disk:
        return self_test(work, out, inv)
    netboot = Netboot()
    rows: list[tuple[str, str, str]] = []

    t0 = time.monotonic()
    mirror, built = Mirror.ensure(netboot)
    state = "cached" if built is None else "built"
    rows.append(("1. partial mirror", state, f"{time.monotonic() - t0:.0f}"))
    missing = mirror.manifest.get("udebs_not_served") or []
    if isinstance(missing, list) and missing:
        print(f"e2e-install: {len(missing)} udebs are not served (404) by the upstream", flush=True)

    preseed = preseed_document((out / INSTALL_HOST / "preseed.cfg").read_bytes())
    macs = [n.mac for n in host.nics if n.mac]
    # OUT/_preseed/ (only with an OVS host): beside /preseed.cfg, where its early_command looks.
    shared = out / "_preseed"
    beside = {p.name: p.read_bytes() for p in shared.glob("*") if p.name != "manifest.json"}
    net = install_net(host)
    result = run_install(work / "install", netboot, mirror, preseed, net, macs, beside=beside)
    rows.append(("2. install (d-i)", "PASS" if result.ok else "FAIL", f"{result.seconds:.0f}"))
    for name, secs in result.milestones.items():
        rows.append((f"   {name}", "", f"{secs:.0f}"))
    netcfg_ok, netcfg_detail = netcfg_used_preseed(work / "install" / "install-syslog.log", host)
    rows.append(("   netcfg used the preseed's network", "PASS" if netcfg_ok else "FAIL", ""))
    if not netcfg_ok:
        print(f"e2e-install: netcfg: {netcfg_detail}", flush=True)
    if not result.ok:
        rows.append(("   stopped at", result.stopped_at, ""))
        rows += [("3. boot installed disk", "not run", ""), ("4. checks", "not run", "")]
        print("\n".join(result.syslog_tail[-25:]))
        return _finish(rows, ok=False)

    t0 = time.monotonic()
    disk = prepare(work / "install" / "disk.qcow2", work / "booted")
    rows.append(("   disk read offline + probe", "done", f"{time.monotonic() - t0:.0f}"))
    booted = boot_and_check(work, out, inv, disk, rows)
    return _finish(rows, ok=netcfg_ok and booted)


def self_test(work: Path, out: Path, inv: Inventory) -> int:
    t0 = time.monotonic()
    qcow2 = synthetic_disk(work, out / INSTALL_HOST / "rootfs", inv.host(INSTALL_HOST))
    disk = prepare(qcow2, work / "booted")
    rows = [("stand-in disk (NOT an install)", "built", f"{time.monotonic() - t0:.0f}")]
    return _finish(rows, ok=boot_and_check(work, out, inv, disk, rows))


def boot_and_check(
    work: Path, out: Path, inv: Inventory, disk: BaseImage, rows: list[tuple[str, str, str]]
) -> bool:
    """Phases 3 + 4: the installed disk next to the peer on the trunk switches, the checks
    of every cloudbr case (expect_for) on both."""
    host = next(h for h in inv.hosts if h.hostname == INSTALL_HOST)
    peer = next(h for h in inv.hosts if h.hostname == PEER_HOST)
    macs = [n.mac for n in host.nics if n.mac]
    installed = HostCase(host.hostname, expect=expect_for(host, [peer]), macs=macs, image=disk)
    scenario = Scenario("install-booted", [installed, host_case(out, peer, [host])])
    t0 = time.monotonic()
    (work / "boot").mkdir()
    res = run_scenario(scenario, workdir=work / "boot")
    boot = (res.results.get(host.hostname) or [{}])[0].get("host", {})
    rows.append(("3. boot to networked", "PASS" if boot else "FAIL", _s(boot.get("networked_s"))))
    rows.append(("4. checks", "PASS" if res.ok else "FAIL", _s(boot.get("result_s"))))
    rows.append(("   boot phase wall time", "", f"{time.monotonic() - t0:.0f}"))
    for line in res.failures():
        print(f"    {line}")
    return res.ok


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _finish(rows: list[tuple[str, str, str]], ok: bool) -> int:
    print("\n" + table(rows))
    print(f"\n{int(ok)} passed, {int(not ok)} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
