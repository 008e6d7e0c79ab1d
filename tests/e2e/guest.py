"""One booted guest under QEMU/TCG, fed a rootfs tree + test case via fw_cfg.

It boots the harness's Debian 12 image (GuestImage) or any other BaseImage (image.py)."""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from . import procs
from .image import BaseImage
from .qmp import Qmp
from .vde import SwitchPort

CHECK_PY = Path(__file__).resolve().parent / "guest" / "check.py"
DETECT_PY = CHECK_PY.with_name("detect.py")  # imported by check.py for failover cases
MARKER = "CLOUDBR-"


class GuestError(RuntimeError):
    pass


@dataclass
class Nic:
    """A virtio NIC (ethN in order). `link=None`: a private hub, carrier up, nobody there."""

    mac: str
    link: SwitchPort | None = None


def default_macs(guest_no: int, count: int = 4) -> list[str]:
    return [f"52:54:00:e2:{guest_no:02x}:{n:02x}" for n in range(count)]


@dataclass
class Message:
    kind: str  # "EVENT" or "RESULT"
    name: str
    data: dict[str, Any]
    boot: int
    host_s: float  # seconds since this boot's QEMU started, when the harness read it


class Guest:
    """Context manager around one QEMU process (restartable on the same overlay).

    The guest's own unit runs check.py with `case` (see guest/check.py for the keys) and
    reports `CLOUDBR-EVENT <name> {json}` / `CLOUDBR-RESULT {json}` lines on ttyS1
    (copied to the console too). `rootfs` (a directory tree) is unpacked onto / in the
    initramfs, before systemd and its generators run (only images with `injects_rootfs`).
    """

    def __init__(
        self,
        image: BaseImage,
        name: str,
        workdir: Path,
        nics: list[Nic],
        rootfs: Path | None = None,
        case: dict[str, Any] | None = None,
        check_script: Path | None = None,
        seed_iso: Path | None = None,
        memory_mb: int = 1024,
    ) -> None:
        if rootfs is not None and not image.injects_rootfs:
            raise GuestError(f"{name}: this image cannot inject a rootfs tree ({image.disk})")
        self.image = image
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.nics = nics
        self.rootfs = rootfs
        self.case = dict(case or {})
        self.check_script = check_script
        self.seed_iso = seed_iso
        self.memory_mb = memory_mb
        self.boot = 0
        self.overlay = self.dir / "overlay.qcow2"
        self._proc: subprocess.Popen[bytes] | None = None
        self._qmp: Qmp | None = None
        self._started = 0.0
        self._messages: list[Message] = []
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._stop_reader = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Guest:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Boot (again) on the same overlay: a power-on, not a fresh install."""
        if self.running:
            raise GuestError(f"{self.name}: already running")
        if not self.overlay.exists():
            self._prepare()
        self.boot += 1
        for i, nic in enumerate(self.nics):
            if nic.link is not None:
                nic.link.connect(log=self.dir / f"plug-eth{i}.log")
        qmp_path = self.dir / "qmp.sock"
        qmp_path.unlink(missing_ok=True)
        self._stop_reader.clear()
        for path in (self.serial_log, self.result_log):
            path.write_bytes(b"")
        self._started = time.monotonic()
        argv = self._argv(qmp_path)
        # For debugging by hand: swap the first `-serial chardev:console` for `-serial stdio`.
        (self.dir / f"qemu-{self.boot}.cmd").write_text(shlex.join(argv) + "\n")
        self._proc = procs.spawn(argv, log=self.dir / f"qemu-{self.boot}.log")
        self._qmp = Qmp(qmp_path)
        self._reader = threading.Thread(target=self._read_results, daemon=True)
        self._reader.start()

    def stop(self, graceful: bool = False, timeout: float = 90.0) -> None:
        """Power off: ACPI button (graceful) or pulled plug; QEMU is always reaped."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                if self._qmp is not None:
                    self._qmp.execute("system_powerdown" if graceful else "quit")
                self._proc.wait(timeout if graceful else 10)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                pass
        procs.stop(self._proc)
        self._proc = None
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        self._stop_reader.set()
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None

    def wait_exit(self, timeout: float) -> bool:
        """True once QEMU has exited by itself (guest poweroff), within `timeout`."""
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def power_cycle(self, graceful: bool = False) -> None:
        """Stop this QEMU and boot a new one on the same overlay (faster and saner than an
        in-guest reboot under TCG). Results of the next boot are `boot == self.boot`."""
        self.stop(graceful=graceful)
        self.start()

    def close(self) -> None:
        self.stop()
        for nic in self.nics:
            if nic.link is not None:
                nic.link.disconnect()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def serial_log(self) -> Path:
        return self.dir / f"serial-{self.boot}.log"

    @property
    def result_log(self) -> Path:
        return self.dir / f"results-{self.boot}.log"

    # -- control -----------------------------------------------------------------------------
    def set_link(self, nic: int, up: bool) -> None:
        """Carrier on/off for ethN, as seen by the guest (QMP set_link on the NIC)."""
        if self._qmp is None:
            raise GuestError(f"{self.name}: not running")
        self._qmp.execute("set_link", name=f"nic{nic}", up=up)

    def cable(self, nic: int, connected: bool) -> None:
        """Cut/restore the switch side of ethN; the guest keeps carrier (silent failure)."""
        link = self.nics[nic].link
        if link is None:
            raise GuestError(f"{self.name}: eth{nic} is not on a switch")
        if connected:
            link.connect(log=self.dir / f"plug-eth{nic}.log")
        else:
            link.disconnect()

    def hmp(self, command: str) -> str:
        if self._qmp is None:
            raise GuestError(f"{self.name}: not running")
        out: str = self._qmp.execute("human-monitor-command", **{"command-line": command})
        return out

    # -- results -----------------------------------------------------------------------------
    def wait_event(self, name: str, timeout: float = 300.0) -> Message:
        return self._wait(lambda m: m.kind == "EVENT" and m.name == name, name, timeout)

    def wait_result(self, timeout: float = 300.0) -> dict[str, Any]:
        """The check's result for the current boot, with `host` timings added."""
        msg = self._wait(lambda m: m.kind == "RESULT", "RESULT", timeout)
        result = dict(msg.data)
        networked = self.event("networked")
        result["host"] = {
            "boot": msg.boot,
            "result_s": round(msg.host_s, 1),
            "networked_s": round(networked.host_s, 1) if networked else None,
        }
        return result

    def event(self, name: str) -> Message | None:
        with self._cond:
            for m in self._messages:
                if m.boot == self.boot and m.kind == "EVENT" and m.name == name:
                    return m
        return None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.serial_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait(self, match: Any, what: str, timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        exited = False
        with self._cond:
            while True:
                for m in self._messages:
                    if m.boot == self.boot and match(m):
                        return m
                if not self.running and not exited:
                    exited = True  # the reader may still hold the last lines: one more look
                    self._cond.wait(1.0)
                    continue
                if exited:
                    raise GuestError(
                        f"{self.name}: QEMU exited before {what}; serial tail:\n{self.tail()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestError(
                        f"{self.name}: no {what} within {timeout:.0f}s; serial tail:\n{self.tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def _read_results(self) -> None:
        # Timestamps lines as they arrive, so boot times don't depend on when a test looks.
        boot, started, path = self.boot, self._started, self.result_log
        pending = b""
        with open(path, "rb") as f:
            while True:
                chunk = f.read()
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    now = time.monotonic() - started
                    for raw in lines:
                        msg = _parse(raw.decode(errors="replace"), boot, now)
                        if msg is not None:
                            with self._cond:
                                self._messages.append(msg)
                                self._cond.notify_all()
                elif self._stop_reader.is_set():
                    return
                else:
                    time.sleep(0.05)

    # -- QEMU --------------------------------------------------------------------------------
    def _prepare(self) -> None:
        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                self.image.disk_format,
                "-b",
                str(self.image.disk),
                str(self.overlay),
            ],
            check=True,
            timeout=60,
        )
        self._tar_rootfs(self.dir / "rootfs.tar")
        self._tar_case(self.dir / "case.tar")

    def _argv(self, qmp_path: Path) -> list[str]:
        argv = [
            "qemu-system-x86_64",
            # This machine's /dev/kvm hangs standard guest kernels: TCG always.
            "-accel", "tcg,tb-size=256",
            "-smp", "1",
            "-m", str(self.memory_mb),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot",  # a guest reboot/panic ends QEMU; power_cycle() boots again
            "-kernel", str(self.image.kernel),
            "-initrd", str(self.image.initrd),
            "-append", self.image.cmdline,
            "-drive", f"file={self.overlay},if=virtio,format=qcow2,cache=unsafe",
            "-chardev", f"file,id=console,path={self.serial_log}",
            "-serial", "chardev:console",
            "-chardev", f"file,id=results,path={self.result_log}",
            "-serial", "chardev:results",
            "-qmp", f"unix:{qmp_path},server=on,wait=off",
            "-device", "virtio-rng-pci",
        ]  # fmt: skip
        if self.image.injects_rootfs:
            argv += ["-fw_cfg", f"name=opt/cloudbr/rootfs.tar,file={self.dir / 'rootfs.tar'}"]
        argv += ["-fw_cfg", f"name=opt/cloudbr/case.tar,file={self.dir / 'case.tar'}"]
        for i, nic in enumerate(self.nics):
            # Network safety: a loopback UDP cable to our vde_switch, or a private hub port.
            netdev = (
                nic.link.netdev(f"net{i}")
                if nic.link is not None
                else f"hubport,id=net{i},hubid={100 + i}"
            )
            argv += [
                "-netdev", netdev,
                # Fixed PCI slots keep eth0..eth3 in this order.
                "-device", f"virtio-net-pci,netdev=net{i},id=nic{i},mac={nic.mac},addr={6 + i}",
            ]  # fmt: skip
        if self.seed_iso is not None:
            argv += ["-drive", f"file={self.seed_iso},media=cdrom,if=ide,readonly=on"]
        return argv

    def _tar_rootfs(self, out: Path) -> None:
        with tarfile.open(out, "w") as tar:
            if self.rootfs is not None:
                # Files and symlinks only: directory entries would re-mode /etc, /usr, ...
                for path in sorted(self.rootfs.rglob("*")):
                    if path.is_symlink() or not path.is_dir():
                        arcname = str(path.relative_to(self.rootfs))
                        tar.add(path, arcname, recursive=False, filter=_as_root)

    def _tar_case(self, out: Path) -> None:
        case = {"name": self.name, **self.case}
        files: dict[str, tuple[bytes, int]] = {
            "opt/cloudbr-e2e/check.py": (CHECK_PY.read_bytes(), 0o755),
            "opt/cloudbr-e2e/detect.py": (DETECT_PY.read_bytes(), 0o644),
            "opt/cloudbr-e2e/case.json": (json.dumps(case, indent=1).encode(), 0o644),
            # Unique per guest: systemd derives bridge/bond MACs from it.
            "etc/machine-id": (hashlib.md5(self.name.encode()).hexdigest().encode() + b"\n", 0o444),
        }
        if self.check_script is not None:
            files["opt/cloudbr-e2e/extra-check"] = (self.check_script.read_bytes(), 0o755)
        with tarfile.open(out, "w") as tar:
            for name, (data, mode) in files.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, int(time.time())
                tar.addfile(info, io.BytesIO(data))


def _as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _parse(line: str, boot: int, host_s: float) -> Message | None:
    line = line.strip("\r\x00 ")
    pos = line.find(MARKER)
    if pos < 0:
        return None
    head, _, rest = line[pos + len(MARKER) :].partition(" ")
    try:
        if head == "RESULT":
            return Message("RESULT", "", json.loads(rest), boot, host_s)
        if head == "EVENT":
            name, _, payload = rest.partition(" ")
            return Message("EVENT", name, json.loads(payload or "{}"), boot, host_s)
    except json.JSONDecodeError:
        return None
    return None
