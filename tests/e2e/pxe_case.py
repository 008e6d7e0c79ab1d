"""PXE e2e (issue 16): QEMU guests with empty disks PXE-boot into their own installers.

Real dnsmasq (DHCP + TFTP) and nginx, run with the files `cloudbr render` wrote to OUT/pxe/,
live in a network namespace this case creates; their only link is a tap in that namespace,
plugged by `vde_plug2tap` into a private vde_switch. Each guest's NIC (QEMU's iPXE ROM from
ipxe-qemu) is a loopback UDP cable to the same switch. 192.168.100.x exists only in the
namespace and the guests.

- e2e-pxe-d12 (Open vSwitch) boots Debian's real installer (debian-installer-12-netboot-amd64:
  linux, initrd.gz) and must fetch its own preseed over HTTP, then, in its early_command, the
  shared first-boot program from beside it (OUT/_preseed/'s one copy), check its sha256 and
  go on (d-i's next screen); the case stops there.
- e2e-pxe-c7: CentOS 7's installer cannot be had here, so its entry serves a stand-in: the
  same Debian installer kernel with an empty initramfs. It proves the EL entry (DHCP, its
  MAC's script, kernel and initrd, the `inst.ks=`/`ip=` command line), not anaconda; it is
  stopped once its kernel has printed the command line.
Checks: tests/e2e/pxe_checks.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cloudbr.cli import main as cloudbr_main
from cloudbr.inventory import load_inventory
from cloudbr.model import Distro

from . import procs
from .harness import ScenarioResult, _write_report
from .pxe_checks import Checks, PxeGuest, requests, text, verify
from .vde import VdeSwitch

DI_DIR = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
SERVER = "192.168.100.2"
HTTP_URL = f"http://{SERVER}/cloudbr"
TIMEOUT_S = float(os.environ.get("CLOUDBR_E2E_PXE_TIMEOUT", "420"))
PROGRAM = "/cloudbr-ovs-firstboot"
# After the early_command, d-i goes on to choose-mirror (whose default mirror this network
# cannot reach) or, had the command failed, stops at preseed/command_failed.
EARLY_DONE = re.compile(r"Bad archive mirror|Failed to run preseeded command")
# nginx access log: remote address, status, bytes sent, request line (parsed by pxe_checks).
LOG_FORMAT = '$remote_addr $status $body_bytes_sent "$request"'
GUESTS = (
    PxeGuest("e2e-pxe-d12", "debian12", "52:54:00:e2:40:00", "192.168.100.40"),
    PxeGuest("e2e-pxe-c7", "centos7", "52:54:00:e2:41:00", "192.168.100.41"),
)


def inventory(workdir: Path, proxy: bool = False) -> dict[str, Any]:
    """The two guests' hosts, PXE-installing from a boot server on 192.168.100.2."""
    return {
        "site": {
            "domain": "e2e.test",
            "ipv6": False,
            "dns": {"servers": ["192.168.100.5"]},
            "pxe": {
                "server": f"{SERVER}/24",
                "http_url": HTTP_URL,
                "document_root": str(workdir / "out"),
                "tftp_root": str(workdir / "tftp"),
                "dhcp": {"mode": "proxy" if proxy else "dhcp"},
                "console": "ttyS0,115200",
                "path_secret": "e2e-only-secret-0123456789abcdefghijkl",
            },
        },
        "hosts": [
            {
                "hostname": g.host,
                "distro": g.distro,
                "address": f"{g.address}/24",
                "gateway": "192.168.100.1",
                "macs": {"eth0": g.mac},
                **({"backend": "ovs"} if g.distro == "debian12" else {}),
            }
            for g in GUESTS
        ],
    }


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, timeout=30, capture_output=True)


def _in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


@contextlib.contextmanager
def netns(name: str) -> Iterator[str]:
    _run("ip", "netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def empty_initramfs() -> bytes:
    """A newc cpio archive holding only its trailer (the stand-in's initrd)."""
    name = b"TRAILER!!!\0"
    fields = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(name), 0]
    head = b"070701" + b"".join(f"{v:08X}".encode() for v in fields) + name
    head += b"\0" * (-len(head) % 4)
    return head + b"\0" * (-len(head) % 512)


def _nginx_wrapper(workdir: Path, server_block: Path) -> Path:
    prefix = workdir / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx-e2e.conf"
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {prefix / kind};" for kind in kinds)
    conf.write_text(
        "daemon off;\nuser root;\nworker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'logs/error.log'} info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    log_format cloudbr '{LOG_FORMAT}';\n"
        f"    access_log {prefix / 'logs/access.log'} cloudbr;\n"
        f"    {temp}\n"
        f"    include {server_block};\n"
        "}\n"
    )
    return conf


@dataclass
class PxeScenario:
    name: str = "cloudbr-pxe"
    hosts: list[Any] = field(default_factory=list)  # no harness guests: this case boots its own
    guests: int = 1  # its own QEMU guest (one at a time)
    # proxy: the generated proxy-DHCP dnsmasq beside a plain DHCP server (in a second
    # namespace) that hands out the addresses; only the quick stand-in guest boots.
    proxy: bool = False

    def run(self) -> ScenarioResult:
        base = Path(os.environ.get("CLOUDBR_E2E_WORKDIR", tempfile.gettempdir())) / "cloudbr-e2e"
        base.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=base))
        run = _Run(workdir, self.proxy)
        try:
            run.execute()
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            run.error = f"{type(exc).__name__}: {exc}"
        res = ScenarioResult(
            name=self.name,
            ok=run.error is None and all(c["ok"] for c in run.checks.items),
            networked_s=run.times.get("dhcp"),
            result_s=run.times.get("document", run.times.get("stand-in")),
            outage_ms=None,
            results={"pxe": [{"ok": run.error is None, "checks": run.checks.items}]},
            workdir=workdir,
            error=run.error,
        )
        _write_report(res)
        return res


class _Run:
    def __init__(self, workdir: Path, proxy: bool) -> None:
        self.workdir = workdir
        self.proxy = proxy
        self.guests = GUESTS[1:] if proxy else GUESTS
        self.checks = Checks()
        self.times: dict[str, float] = {}
        self.error: str | None = None
        self.out = workdir / "out"
        self.dnsmasq_log = workdir / "dnsmasq.log"
        # Who hands out the addresses: our dnsmasq, or (proxy mode) the plain DHCP server.
        self.lease_log = workdir / "dhcp-server.log" if proxy else self.dnsmasq_log
        self.access_log = workdir / "nginx" / "logs" / "access.log"

    def serial(self, g: PxeGuest) -> Path:
        return self.workdir / f"serial-{g.host}.log"

    def prepare(self) -> None:
        inv_path = self.workdir / "inventory.yaml"
        inv_path.write_text(yaml.safe_dump(inventory(self.workdir, self.proxy), sort_keys=False))
        if cloudbr_main(["render", str(inv_path), "-o", str(self.out), "-q"]) != 0:
            raise RuntimeError("cloudbr render failed")
        site = load_inventory(inv_path).pxe
        assert site is not None
        # tftp_root, where site.pxe says: Debian's real installer; the CentOS 7 stand-in.
        deb = site.installer(Distro.DEBIAN12)
        el = site.installer(Distro.CENTOS7)
        tftp = self.workdir / "tftp"
        for rel, src in ((deb.kernel, "linux"), (deb.initrd, "initrd.gz"), (el.kernel, "linux")):
            (tftp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tftp / rel).symlink_to(DI_DIR / src)
        (tftp / el.initrd).write_bytes(empty_initramfs())

    def execute(self) -> None:
        self.prepare()
        t0 = time.monotonic()
        ns = f"cbr-pxe-{os.getpid()}"
        with contextlib.ExitStack() as stack:
            switch = stack.enter_context(VdeSwitch(self.workdir, "prov", vlans=()))
            stack.enter_context(netns(ns))
            plug = ["vde_plug2tap", "-s", str(switch.dir), "-p", "1", "tap0"]
            tap = procs.spawn(_in_ns(ns, *plug), log=self.workdir / "plug2tap.log")
            stack.callback(procs.stop, tap)
            self._wait(lambda: _has_link(ns, "tap0"), 10, "tap0 in the namespace")
            _run("ip", "-n", ns, "addr", "add", f"{SERVER}/24", "dev", "tap0")
            _run("ip", "-n", ns, "link", "set", "tap0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            self._servers(stack, ns)
            if self.proxy:
                self._dhcp_server(stack, switch)
            guests = enumerate(self.guests, 2)
            qemus = {g.host: self._guest(stack, switch, g, n) for n, g in guests}
            self.times = self._watch(qemus, t0)
            verify(self, ns)

    def _dhcp_server(self, stack: contextlib.ExitStack, switch: VdeSwitch) -> None:
        """The network's own DHCP server (not cloudbr's): addresses only, no boot file."""
        ns = stack.enter_context(netns(f"cbr-dhcp-{os.getpid()}"))
        plug = ["vde_plug2tap", "-s", str(switch.dir), "-p", "9", "tap0"]
        tap = procs.spawn(_in_ns(ns, *plug), log=self.workdir / "plug2tap-dhcp.log")
        stack.callback(procs.stop, tap)
        self._wait(lambda: _has_link(ns, "tap0"), 10, "tap0 in the DHCP namespace")
        _run("ip", "-n", ns, "addr", "add", "192.168.100.1/24", "dev", "tap0")
        _run("ip", "-n", ns, "link", "set", "tap0", "up")
        argv = [
            *("dnsmasq", "--keep-in-foreground", "--user=root", "--pid-file=", "--port=0"),
            *("--listen-address=192.168.100.1", "--bind-dynamic", "--log-dhcp"),
            "--dhcp-range=192.168.100.100,192.168.100.150,255.255.255.0",
            f"--log-facility={self.lease_log}",
            f"--dhcp-leasefile={self.workdir / 'leases-dhcp-server'}",
        ]
        dnsmasq = procs.spawn(_in_ns(ns, *argv), log=self.workdir / "dhcp-server.out")
        stack.callback(procs.stop, dnsmasq)
        self._wait(lambda: "started" in text(self.lease_log), 15, "the DHCP server to start")

    def _servers(self, stack: contextlib.ExitStack, ns: str) -> None:
        pxe = self.out / "pxe"
        argv = [
            *("dnsmasq", "--keep-in-foreground", "--user=root", "--pid-file="),
            f"--conf-file={pxe / 'dnsmasq.conf'}",
            f"--log-facility={self.dnsmasq_log}",
            f"--dhcp-leasefile={self.workdir / 'leases'}",
        ]
        dnsmasq = procs.spawn(_in_ns(ns, *argv), log=self.workdir / "dnsmasq.out")
        stack.callback(procs.stop, dnsmasq)
        conf = _nginx_wrapper(self.workdir, pxe / "nginx.conf")
        argv = ["nginx", "-p", str(conf.parent), "-c", str(conf)]
        nginx = procs.spawn(_in_ns(ns, *argv), log=self.workdir / "nginx.out")
        stack.callback(procs.stop, nginx)
        self._wait(lambda: "started" in text(self.dnsmasq_log), 15, "dnsmasq to start")
        self._wait(lambda: (conf.parent / "nginx.pid").exists(), 15, "nginx to start")

    def _guest(
        self, stack: contextlib.ExitStack, switch: VdeSwitch, g: PxeGuest, port_no: int
    ) -> subprocess.Popen[bytes]:
        disk = self.workdir / f"empty-{g.host}.qcow2"
        _run("qemu-img", "create", "-q", "-f", "qcow2", str(disk), "8G")
        port = switch.port(port_no)
        port.connect(log=self.workdir / f"plug-{g.host}.log")
        stack.callback(port.disconnect)
        argv = [
            "qemu-system-x86_64", "-accel", "tcg,tb-size=256", "-smp", "1", "-m", "1024",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",
            "-chardev", f"file,id=console,path={self.serial(g)}", "-serial", "chardev:console",
            # SeaBIOS's own messages (which device it boots), for the report.
            "-chardev", f"file,id=bios,path={self.workdir / f'seabios-{g.host}.log'}",
            "-device", "isa-debugcon,iobase=0x402,chardev=bios",
            "-netdev", port.netdev("net0"),
            # QEMU's own iPXE ROM for the NIC, from ipxe-qemu (an explicit romfile= of the
            # same file is not run by SeaBIOS here); sercon puts iPXE on the serial port.
            "-machine", "graphics=off",
            "-device", f"virtio-net-pci,netdev=net0,mac={g.mac},bootindex=1",
        ]  # fmt: skip
        (self.workdir / f"qemu-{g.host}.cmd").write_text(" ".join(argv) + "\n")
        qemu = procs.spawn(argv, log=self.workdir / f"qemu-{g.host}.log")
        stack.callback(procs.stop, qemu)
        return qemu

    def _watch(self, qemus: dict[str, subprocess.Popen[bytes]], t0: float) -> dict[str, float]:
        """Milestones (s since the servers started) until d-i fetched its document; the
        stand-in is stopped as soon as its kernel has printed its command line."""
        times: dict[str, float] = {}
        deadline = time.monotonic() + TIMEOUT_S
        d12, c7 = GUESTS
        done = "stand-in" if self.proxy else "early_command"
        while done not in times:
            if not self.proxy and qemus[d12.host].poll() is not None:
                tail = text(self.serial(d12))[-800:]
                raise RuntimeError(f"{d12.host}: QEMU exited early; serial tail: {tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no document fetch within {TIMEOUT_S:.0f}s ({times})")
            now = time.monotonic() - t0
            if "dhcp" not in times and "DHCPACK(tap0)" in text(self.lease_log):
                times["dhcp"] = now
            if "stand-in" not in times and "Kernel command line:" in text(self.serial(c7)):
                times["stand-in"] = now
                procs.stop(qemus[c7.host])
            served = [r["path"] for r in requests(self.access_log)]
            if "document" not in times and any(p.endswith("/preseed.cfg") for p in served):
                times["document"] = now
            if "program" not in times and any(p.endswith(PROGRAM) for p in served):
                times["program"] = now
            if "program" in times and EARLY_DONE.search(text(self.serial(d12))):
                times["early_command"] = now  # d-i showed what follows its early_command
            time.sleep(1)
        return times

    def _wait(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)


def _has_link(ns: str, name: str) -> bool:
    res = subprocess.run(
        ["ip", "-n", ns, "link", "show", name], capture_output=True, timeout=10, check=False
    )
    return res.returncode == 0


def pxe_scenarios() -> list[PxeScenario]:
    return [PxeScenario(), PxeScenario("cloudbr-pxe-proxy", proxy=True)]
