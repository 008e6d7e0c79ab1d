"""PXE e2e (issue 16): a QEMU guest with an empty disk PXE-boots into its own installer.

Real dnsmasq (DHCP + TFTP) and nginx, run with the files `cloudbr render` wrote to OUT/pxe/,
live in a network namespace this case creates; their only link is a tap in that namespace,
plugged by `vde_plug2tap` into a private vde_switch. The guest's NIC (QEMU's iPXE ROM from
ipxe-qemu) is a loopback UDP cable to the same switch. 192.168.100.x
exists only in the namespace and the guest.

The installer is Debian's real one (debian-installer-12-netboot-amd64: linux, initrd.gz).
Passed when the servers' logs and the serial console show: the guest's MAC got its
dhcp-host address, iPXE fetched the chain script and the MAC's own script, the installer
kernel started with the command line of the host (its document URL, its static address),
and the installer fetched exactly its own document over HTTP, from its install address.
The same document is refused to any other address. The case stops there.
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

from . import procs
from .harness import ScenarioResult, _write_report
from .vde import VdeSwitch

DI_DIR = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
HOST = "e2e-pxe-d12"
MAC = "52:54:00:e2:40:00"
SERVER = "192.168.100.2"
HTTP_URL = f"http://{SERVER}/cloudbr"
TIMEOUT_S = float(os.environ.get("CLOUDBR_E2E_PXE_TIMEOUT", "420"))
# nginx access log: remote address, status, bytes sent, request line.
LOG_FORMAT = '$remote_addr $status $body_bytes_sent "$request"'
ACCESS = re.compile(r'^(\S+) (\d{3}) (\d+) "GET (\S+) HTTP/[\d.]+"$')


def inventory(workdir: Path) -> dict[str, Any]:
    """One Debian 12 host that PXE-installs from a boot server on 192.168.100.2."""
    return {
        "site": {
            "domain": "e2e.test",
            "distro": "debian12",
            "ipv6": False,
            "dns": {"servers": ["192.168.100.5"]},
            "pxe": {
                "server": f"{SERVER}/24",
                "http_url": HTTP_URL,
                "document_root": str(workdir / "out"),
                "tftp_root": str(workdir / "tftp"),
                "dhcp": {"mode": "dhcp"},
                "console": "ttyS0,115200",
                "path_secret": "e2e-only-secret-0123456789abcdefghijkl",
            },
        },
        "hosts": [
            {
                "hostname": HOST,
                "address": "192.168.100.40/24",
                "gateway": "192.168.100.1",
                "macs": {"eth0": MAC},
            }
        ],
    }


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, timeout=30, capture_output=True)


@contextlib.contextmanager
def netns(name: str) -> Iterator[str]:
    _run("ip", "netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def _nginx_wrapper(workdir: Path, server_block: Path) -> Path:
    prefix = workdir / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx-e2e.conf"
    temp = " ".join(
        f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    conf.write_text(
        "daemon off;\nuser root;\nworker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'logs/error.log'} info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    log_format cloudbr '{LOG_FORMAT}';\n"
        f"    access_log {prefix / 'logs/access.log'} cloudbr;\n"
        f"    {temp}\n"
        f"    uwsgi_temp_path {prefix / 'uwsgi'}; scgi_temp_path {prefix / 'scgi'};\n"
        f"    include {server_block};\n"
        "}\n"
    )
    return conf


@dataclass
class PxeScenario:
    name: str = "cloudbr-pxe-d12"
    hosts: list[Any] = field(default_factory=list)  # no harness guests: this case boots its own

    def run(self) -> ScenarioResult:
        base = Path(os.environ.get("CLOUDBR_E2E_WORKDIR", tempfile.gettempdir())) / "cloudbr-e2e"
        base.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=base))
        run = _Run(workdir)
        try:
            run.execute()
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            run.error = f"{type(exc).__name__}: {exc}"
        res = ScenarioResult(
            name=self.name,
            ok=run.error is None and all(c["ok"] for c in run.checks),
            networked_s=run.times.get("dhcp"),
            result_s=run.times.get("document"),
            outage_ms=None,
            results={HOST: [{"ok": run.error is None, "checks": run.checks}]},
            workdir=workdir,
            error=run.error,
        )
        _write_report(res)
        return res


class _Run:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.checks: list[dict[str, Any]] = []
        self.times: dict[str, float] = {}
        self.error: str | None = None
        self.out = workdir / "out"
        self.serial = workdir / "serial.log"
        self.dnsmasq_log = workdir / "dnsmasq.log"
        self.access_log = workdir / "nginx" / "logs" / "access.log"

    def check(self, name: str, ok: bool, detail: Any) -> None:
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail})

    def prepare(self) -> Path:
        inv_path = self.workdir / "inventory.yaml"
        inv_path.write_text(yaml.safe_dump(inventory(self.workdir), sort_keys=False))
        if cloudbr_main(["render", str(inv_path), "-o", str(self.out), "-q"]) != 0:
            raise RuntimeError("cloudbr render failed")
        inv = load_inventory(inv_path)
        assert inv.pxe is not None
        # tftp_root: the real Debian 12 netboot installer where site.pxe says it is.
        files = inv.pxe.installer(inv.hosts[0].distro)
        for rel, src in ((files.kernel, "linux"), (files.initrd, "initrd.gz")):
            target = self.workdir / "tftp" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(DI_DIR / src)
        return inv_path

    def execute(self) -> None:
        self.prepare()
        t0 = time.monotonic()
        ns = f"cbr-pxe-{os.getpid()}"
        with contextlib.ExitStack() as stack:
            switch = stack.enter_context(VdeSwitch(self.workdir, "prov", vlans=()))
            stack.enter_context(netns(ns))
            plug = ["vde_plug2tap", "-s", str(switch.dir), "-p", "1", "tap0"]
            tap = procs.spawn(["ip", "netns", "exec", ns, *plug], log=self.workdir / "plug2tap.log")
            stack.callback(procs.stop, tap)
            self._wait(lambda: _has_link(ns, "tap0"), 10, "tap0 in the namespace")
            _run("ip", "-n", ns, "addr", "add", f"{SERVER}/24", "dev", "tap0")
            _run("ip", "-n", ns, "link", "set", "tap0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            self._servers(stack, ns)
            guest = self._guest(stack, switch)
            self.times = self._watch(guest, t0)
            self._refused_elsewhere(ns)
        self._verify()

    def _servers(self, stack: contextlib.ExitStack, ns: str) -> None:
        pxe = self.out / "pxe"
        argv = [
            *("dnsmasq", "--keep-in-foreground", "--user=root", "--pid-file="),
            f"--conf-file={pxe / 'dnsmasq.conf'}",
            f"--log-facility={self.dnsmasq_log}",
            f"--dhcp-leasefile={self.workdir / 'leases'}",
        ]
        dnsmasq = procs.spawn(["ip", "netns", "exec", ns, *argv], log=self.workdir / "dnsmasq.out")
        stack.callback(procs.stop, dnsmasq)
        conf = _nginx_wrapper(self.workdir, pxe / "nginx.conf")
        nginx = procs.spawn(
            ["ip", "netns", "exec", ns, "nginx", "-p", str(conf.parent), "-c", str(conf)],
            log=self.workdir / "nginx.out",
        )
        stack.callback(procs.stop, nginx)
        self._wait(lambda: "started" in _text(self.dnsmasq_log), 15, "dnsmasq to start")
        self._wait(lambda: (conf.parent / "nginx.pid").exists(), 15, "nginx to start")

    def _guest(self, stack: contextlib.ExitStack, switch: VdeSwitch) -> subprocess.Popen[bytes]:
        disk = self.workdir / "empty.qcow2"
        _run("qemu-img", "create", "-q", "-f", "qcow2", str(disk), "8G")
        port = switch.port(2)
        port.connect(log=self.workdir / "plug-guest.log")
        stack.callback(port.disconnect)
        argv = [
            "qemu-system-x86_64", "-accel", "tcg,tb-size=256", "-smp", "1", "-m", "1024",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",
            "-chardev", f"file,id=console,path={self.serial}", "-serial", "chardev:console",
            # SeaBIOS's own messages (which device it boots), for the report.
            "-chardev", f"file,id=bios,path={self.workdir / 'seabios.log'}",
            "-device", "isa-debugcon,iobase=0x402,chardev=bios",
            "-netdev", port.netdev("net0"),
            # QEMU's own iPXE ROM for the NIC, from ipxe-qemu (an explicit romfile= of the
            # same file is not run by SeaBIOS here); sercon puts iPXE on the serial port.
            "-machine", "graphics=off",
            "-device", f"virtio-net-pci,netdev=net0,mac={MAC},bootindex=1",
        ]  # fmt: skip
        (self.workdir / "qemu.cmd").write_text(" ".join(argv) + "\n")
        qemu = procs.spawn(argv, log=self.workdir / "qemu.log")
        stack.callback(procs.stop, qemu)
        return qemu

    def _watch(self, qemu: subprocess.Popen[bytes], t0: float) -> dict[str, float]:
        """Timestamps of the milestones; returns once the installer fetched a document."""
        times: dict[str, float] = {}
        deadline = time.monotonic() + TIMEOUT_S
        while "document" not in times:
            if qemu.poll() is not None:
                raise RuntimeError(f"QEMU exited early; serial tail: {_text(self.serial)[-800:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no document fetch within {TIMEOUT_S:.0f}s (milestones {times})"
                )
            now = time.monotonic() - t0
            if "dhcp" not in times and f"DHCPACK(tap0) 192.168.100.40 {MAC}" in _text(
                self.dnsmasq_log
            ):
                times["dhcp"] = now
            if "document" not in times and any(
                r["path"].endswith("/preseed.cfg") for r in _requests(self.access_log)
            ):
                times["document"] = now
            time.sleep(1)
        return times

    def _refused_elsewhere(self, ns: str) -> None:
        """The document's URL, asked from another address (the server's own): refused."""
        url = next(r["path"] for r in _requests(self.access_log) if r["path"].endswith(".cfg"))
        code = (
            "import urllib.request, urllib.error, sys\n"
            "try: urllib.request.urlopen(sys.argv[1], timeout=10); print(200)\n"
            "except urllib.error.HTTPError as e: print(e.code)\n"
        )
        got = subprocess.run(
            ["ip", "netns", "exec", ns, "python3", "-c", code, f"http://{SERVER}{url}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        self.check("document refused to another address", got == "403", got)

    def _verify(self) -> None:
        dhcp = _text(self.dnsmasq_log)
        self.check(
            "dhcp-host: the guest's MAC got its install address and host name",
            f"DHCPACK(tap0) 192.168.100.40 {MAC} {HOST}" in dhcp,
            [ln for ln in dhcp.splitlines() if "DHCPACK" in ln],
        )
        acks = [ln for ln in dhcp.splitlines() if "DHCPACK" in ln]
        # d-i asking DHCP would get the same dhcp-host address: prove it did not ask.
        self.check(
            "the installer used its static boot-line network (one DHCP lease)", len(acks) == 1, acks
        )
        serial = _text(self.serial)
        self.check(
            "serial console: the MAC's iPXE script ran",
            f"cloudbr: installing {HOST}.e2e.test (debian12)" in serial,
            serial[-400:],
        )
        reqs = _requests(self.access_log)
        ok = [r for r in reqs if r["status"] == "200" and r["addr"] == "192.168.100.40"]
        paths = [r["path"] for r in ok]
        script = f"/cloudbr/pxe/ipxe/{MAC.replace(':', '-')}.ipxe"
        self.check("iPXE fetched the chain script", "/cloudbr/pxe/boot.ipxe" in paths, paths)
        self.check("iPXE fetched its MAC's own script", script in paths, paths)
        kernel_line = _kernel_cmdline(_text(self.serial))
        url = next((p.split("=", 1)[1] for p in kernel_line if p.startswith("url=")), "")
        want = {"auto=true", "priority=critical", "netcfg/get_ipaddress=192.168.100.40"}
        self.check(
            "installer kernel started with the host's command line",
            want <= set(kernel_line) and url.startswith(f"{HTTP_URL}/"),
            kernel_line,
        )
        document = self.out / HOST / "preseed.cfg"
        fetched = [r for r in ok if HTTP_URL.removeprefix(f"http://{SERVER}") + "/" in r["path"]]
        own = [r for r in fetched if r["path"].endswith(f"/{HOST}/preseed.cfg")]
        self.check(
            "the installer fetched its own document (the boot line's url=), whole",
            bool(own)
            and f"http://{SERVER}{own[0]['path']}" == url
            and int(own[0]["bytes"]) == document.stat().st_size,
            {"fetched": own, "url": url, "size": document.stat().st_size},
        )

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


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _requests(log: Path) -> list[dict[str, str]]:
    out = []
    for line in _text(log).splitlines():
        m = ACCESS.match(line.strip())
        if m:
            out.append({"addr": m[1], "status": m[2], "bytes": m[3], "path": m[4]})
    return out


def _kernel_cmdline(serial: str) -> list[str]:
    m = re.search(r"Kernel command line: (.*)", serial)
    return m[1].strip().split() if m else []


def pxe_scenarios() -> list[PxeScenario]:
    return [PxeScenario()]
