"""Phase 2: debian-installer (netboot) installs the host from cloudbr's preseed under QEMU.

The install VM has the host's four NICs with the inventory's MACs, in the harness's PCI
slots (eth0..eth3, `net.ifnames=0`). eth0 (the NIC cloudbr's preseed installs over: the
bond's primary member) is QEMU user networking with `restrict=on`, shaped like the
inventory's management network: slirp's own address is the gateway, and the only
forwarding is `guestfwd` of MIRROR_IP:80 to a per-connection serve.py on the mirror
directory. The guest reaches nothing else (restrict=on: other TCP is reset, UDP dropped).
eth1..eth3 are private hub ports.

Where the install goes is read from the mirror's request log (each request is a
milestone: Release, udebs, the base system's .debs, ...) and from d-i's syslog, which the
test overlay copies to ttyS1. A 404 for a udeb stops anna for good ("Failed to load
installer component"), so the run stops there and says so.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import procs
from .mirror import Mirror
from .netboot import Netboot

HERE = Path(__file__).resolve().parent
SERVE = HERE / "serve.py"
INSTALL_TIMEOUT_S = 5400.0
DISK_GB = 10
# After a fatal 404 (anna cannot continue), give d-i this long to log its error.
GRACE_S = 60.0
# Installer-only kernel parameters; after `---`, those d-i copies to the installed system.
INSTALLER_ARGS = "console=ttyS0,115200n8 priority=critical DEBIAN_FRONTEND=text"
TARGET_ARGS = "net.ifnames=0 biosdevname=0 console=ttyS0,115200n8"

# The test overlay, appended after cloudbr's preseed (debconf-set-selections: the last
# answer wins). Only what this test environment forces; everything else, the late_command
# and the host's tree included, is cloudbr's as rendered.
OVERLAY = """\

# ---- test-only overlay (tests/e2e/install/install.py), appended after cloudbr's preseed ----
# The test's mirror serves bookworm main only: security and updates suites are not there
# (restrict=on: nothing else is reachable), so apt-setup adds none (default: both).
d-i apt-setup/services-select multiselect
# No NTP server is reachable; the clock is QEMU's RTC (the host's clock). cloudbr: true.
d-i clock-setup/ntp boolean false
# Instrumentation only (cloudbr sets no early_command): d-i's syslog to ttyS1 for the test.
# The background tail must not keep debconf's pipes (fds 3-9) open: the frontend waits for
# their EOF, and the install would hang right here (it did).
d-i preseed/early_command string tail -f /var/log/syslog </dev/null >/dev/ttyS1 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
"""
# For the report (question -> why): cloudbr's answers the overlay replaces, and questions
# cloudbr leaves to d-i's default that the overlay answers.
OVERRIDES = {"clock-setup/ntp": "no NTP server reachable (restrict=on)"}
DEFAULTS_ANSWERED = {"apt-setup/services-select": "no security/updates suites in the mirror"}
ADDED = {"preseed/early_command": "instrumentation: d-i's syslog to ttyS1"}


@dataclass(frozen=True)
class InstallNet:
    """The install network: the inventory's management subnet inside slirp."""

    address: ipaddress.IPv4Interface  # the host's install address (from the preseed)
    gateway: ipaddress.IPv4Address
    dns: ipaddress.IPv4Address
    mirror: ipaddress.IPv4Address  # host part of installer.mirror

    def netdev(self, mirror_root: Path, requests_log: Path) -> str:
        cmd = f"/usr/bin/python3 {SERVE} {mirror_root} {requests_log}"
        if "," in cmd:  # QEMU would split the option there
            raise ValueError(f"no commas in QEMU option values: {cmd!r}")
        return (
            f"user,id=net0,restrict=on,ipv6=off,net={self.address.network},"
            f"host={self.gateway},dns={self.dns},"
            f"guestfwd=tcp:{self.mirror}:80-cmd:{cmd}"
        )


@dataclass
class InstallResult:
    ok: bool
    stopped_at: str
    seconds: float
    milestones: dict[str, float] = field(default_factory=dict)  # name -> s after QEMU start
    not_found: list[str] = field(default_factory=list)
    syslog_tail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stopped_at": self.stopped_at,
            "seconds": round(self.seconds, 1),
            "milestones": {k: round(v, 1) for k, v in self.milestones.items()},
            "not_found": self.not_found,
            "overrides": OVERRIDES,
            "defaults_answered": DEFAULTS_ANSWERED,
            "added": ADDED,
            "syslog_tail": self.syslog_tail,
        }


# Milestones in the mirror's request log: (name, test on "METHOD PATH").
MILESTONES = (
    ("mirror reached (netcfg static network up)", lambda p: p.endswith("/Release")),
    ("udeb index", lambda p: "/debian-installer/" in p and "Packages" in p),
    ("first udeb", lambda p: p.endswith(".udeb")),
    ("base system (first .deb)", lambda p: p.endswith(".deb")),
    ("tasks (tasksel-data)", lambda p: "/tasksel-data_" in p),
    ("cloudbr's packages (bridge-utils)", lambda p: "/bridge-utils_" in p),
)


# Milestones in d-i's syslog (copied to ttyS1 by the overlay's early_command), timed when
# the watcher sees them (it polls every 2 s).
SYSLOG_MILESTONES = (
    (
        "preseed read from the initrd",
        re.compile(r"preseed: successfully loaded preseed file from file:///preseed.cfg"),
    ),
    (
        "netcfg: static IPv4 on the install NIC",
        re.compile(r"netcfg\[\d+\]: DEBUG: Writing static IPv4 stanza"),
    ),
    (
        "anna: package retrieval failed",
        re.compile(r"anna\[\d+\]: WARNING \*\*: package retrieval failed"),
    ),
    ("late_command run", re.compile(r"preseed: running preseed command preseed/late_command")),
)


def preseed_document(cloudbr_preseed: bytes) -> bytes:
    return cloudbr_preseed + OVERLAY.encode()


def qemu_argv(
    workdir: Path,
    netboot: Netboot,
    initrd: Path,
    disk: Path,
    net: InstallNet,
    macs: list[str],
    mirror: Mirror,
) -> list[str]:
    argv = [
        "qemu-system-x86_64",
        "-accel", "tcg,tb-size=256",  # /dev/kvm hangs guest kernels on this machine
        "-smp", "1", "-m", "2048",
        "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot",  # d-i's final reboot ends QEMU: the install is over
        "-kernel", str(netboot.kernel),
        "-initrd", str(initrd),
        "-append", f"{INSTALLER_ARGS} --- {TARGET_ARGS}",
        "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",
        "-serial", f"file:{workdir / 'install-console.log'}",
        "-serial", f"file:{workdir / 'install-syslog.log'}",
        "-device", "virtio-rng-pci",
        "-netdev", net.netdev(mirror.root, workdir / "mirror-requests.log"),
    ]  # fmt: skip
    for i, mac in enumerate(macs):
        if i:
            argv += ["-netdev", f"hubport,id=net{i},hubid={100 + i}"]
        argv += ["-device", f"virtio-net-pci,netdev=net{i},mac={mac},addr={6 + i}"]
    return argv


def run_install(
    workdir: Path,
    netboot: Netboot,
    mirror: Mirror,
    preseed: bytes,
    net: InstallNet,
    macs: list[str],
    timeout: float = INSTALL_TIMEOUT_S,
    beside: dict[str, bytes] | None = None,
) -> InstallResult:
    """Install onto workdir/disk.qcow2; returns where it got to. `beside`: files placed next
    to /preseed.cfg in the initrd (the programs an OVS host's early_command fetches)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "preseed.cfg").write_bytes(preseed)
    initrd = netboot.preseeded_initrd(preseed, workdir / "initrd-preseeded.gz", beside)
    disk = workdir / "disk.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(disk), f"{DISK_GB}G"],
        check=True,
        timeout=60,
    )
    requests = workdir / "mirror-requests.log"
    requests.write_text("")
    argv = qemu_argv(workdir, netboot, initrd, disk, net, macs, mirror)
    (workdir / "install-qemu.cmd").write_text(shlex.join(argv) + "\n")
    t0 = time.time()
    proc = procs.spawn(argv, log=workdir / "install-qemu.log")
    try:
        result = watch(proc, t0, requests, workdir / "install-syslog.log", timeout)
    finally:
        procs.stop(proc)
    (workdir / "install-report.json").write_text(json.dumps(result.as_dict(), indent=1) + "\n")
    return result


def watch(
    proc: subprocess.Popen[bytes],
    t0: float,
    requests: Path,
    syslog: Path,
    timeout: float,
    grace: float = GRACE_S,
    poll: float = 2.0,
) -> InstallResult:
    """Follow the install until QEMU exits, a udeb 404s (+ `grace`) or `timeout`."""
    seen: dict[str, float] = {}
    not_found: list[str] = []
    fatal: str | None = None
    fatal_at = 0.0
    stopped = "timeout"
    while True:
        now = time.time()
        for name, pattern in SYSLOG_MILESTONES:
            if name not in seen and pattern.search(_text(syslog)):
                seen[name] = now - t0
                print(f"e2e-install: +{now - t0:6.0f}s {name}", flush=True)
        for stamp, status, path in _requests(requests):
            for name, test in MILESTONES:
                if status == 200 and name not in seen and test(path):
                    seen[name] = stamp - t0
                    print(f"e2e-install: +{stamp - t0:6.0f}s {name}: {path}", flush=True)
            if status == 404 and path not in not_found:
                not_found.append(path)
                if path.endswith(".udeb") and fatal is None:
                    fatal, fatal_at = path, now
                    print(f"e2e-install: +{now - t0:6.0f}s 404 {path}: anna cannot go on",
                          file=sys.stderr, flush=True)  # fmt: skip
        if proc.poll() is not None:
            stopped = "installer finished (QEMU exited)" if fatal is None else "QEMU exited"
            break
        if fatal is not None and now - fatal_at >= grace:
            stopped = f"anna: udeb not served by the mirror ({fatal})"
            break
        if now - t0 > timeout:
            break
        time.sleep(poll)
    ok = fatal is None and proc.returncode == 0 and stopped.startswith("installer finished")
    return InstallResult(
        ok=ok,
        stopped_at=stopped,
        seconds=time.time() - t0,
        milestones=dict(sorted(seen.items(), key=lambda kv: kv[1])),
        not_found=not_found,
        syslog_tail=_tail(syslog, 60),
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _requests(log: Path) -> list[tuple[float, int, str]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out.append((float(parts[0]), int(parts[1]), parts[3]))
    return out


def _tail(path: Path, lines: int) -> list[str]:
    return [line.rstrip("\r") for line in _text(path).splitlines()[-lines:]]
