"""A vde_switch with trunk ports, and the loopback-only cables from QEMU NICs to it.

Network safety: Debian 12's QEMU has no `-netdev vde`, so each NIC is `-netdev socket,udp=`
bound to 127.0.0.1 and a `vde_plug` relays between that UDP pair and one switch port. Frames
only ever travel as UDP payload over loopback; nothing is bridged to a host interface.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from . import procs

_handed_out: set[int] = set()


def free_udp_port() -> int:
    """A currently free loopback UDP port, never the same one twice in this process."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class VdeError(RuntimeError):
    pass


class VdeSwitch:
    """`vde_switch` whose ports 1..ports all carry VLAN 0 untagged plus `vlans` tagged.

    Plain vde_switch drops 802.1Q frames unless the port is a tagged member of that VLAN
    (verified), and a port must exist before `vlan/addport`, so all ports are pre-created.
    """

    def __init__(
        self, workdir: Path, name: str = "sw0", ports: int = 16, vlans: tuple[int, ...] = (100,)
    ) -> None:
        self.dir = workdir / f"{name}.ctl"
        self.mgmt = workdir / f"{name}.mgmt"
        self.log = workdir / f"{name}.log"
        self.name = name
        self.ports = ports
        self.vlans = vlans
        self._proc: subprocess.Popen[bytes] | None = None
        self._next = 1

    def __enter__(self) -> VdeSwitch:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        # Foreground with a pipe on stdin: if the harness dies, EOF makes the switch exit.
        self._proc = procs.spawn(
            # Port 0 is reserved, so ask for one more.
            ["vde_switch", "-s", str(self.dir), "-M", str(self.mgmt), "-n", str(self.ports + 1)],
            log=self.log,
            stdin=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not self.mgmt.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise VdeError(f"vde_switch {self.name} did not start: {self.log}")
            time.sleep(0.05)
        # minper 0: let a MAC move to another port at once (default 3 s), or a bond
        # failover would be measured as the switch's anti-flap hold time.
        cmds = ["hash/setminper 0"]
        cmds += [f"port/create {p}" for p in range(1, self.ports + 1)]
        for vlan in self.vlans:
            cmds.append(f"vlan/create {vlan}")
            cmds += [f"vlan/addport {vlan} {p}" for p in range(1, self.ports + 1)]
        while True:
            try:
                self.command(*cmds)
                return
            except ConnectionRefusedError:  # the socket is bound, not yet listening
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def command(self, *cmds: str) -> list[str]:
        """Run management commands; raises unless each answers `1000 Success`."""
        out: list[str] = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.mgmt))
            buf = _read_until(s, b"vde$ ", b"")
            for cmd in cmds:
                s.sendall(cmd.encode() + b"\n")
                buf = _read_until(s, b"vde$ ", b"")
                text = buf.decode(errors="replace")
                if "1000 Success" not in text:
                    raise VdeError(f"{self.name}: {cmd!r}: {text.strip()}")
                out.append(text)
        return out

    def port(self, number: int | None = None) -> SwitchPort:
        """A switch port for one NIC (next free one unless `number` is given)."""
        if number is None:
            number = self._next
        self._next = max(self._next, number + 1)
        if not 1 <= number <= self.ports:
            raise VdeError(f"{self.name}: no port {number} (1..{self.ports})")
        return SwitchPort(self, number)

    def close(self) -> None:
        procs.stop(self._proc)
        self._proc = None


def _read_until(s: socket.socket, marker: bytes, buf: bytes) -> bytes:
    while marker not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


@dataclass
class SwitchPort:
    """One cable: QEMU UDP endpoint <-> vde_plug <-> switch port `number`."""

    switch: VdeSwitch
    number: int
    qemu_port: int = field(default_factory=free_udp_port)
    plug_port: int = field(default_factory=free_udp_port)
    _plug: subprocess.Popen[bytes] | None = None

    def netdev(self, netdev_id: str) -> str:
        return (
            f"socket,id={netdev_id},udp=127.0.0.1:{self.plug_port},"
            f"localaddr=127.0.0.1:{self.qemu_port}"
        )

    def connect(self, log: Path | None = None) -> None:
        if self._plug is not None and self._plug.poll() is None:
            return
        url = f"vde://{self.switch.dir}[{self.number}]"
        udp = f"udp://127.0.0.1:{self.plug_port}->127.0.0.1:{self.qemu_port}"
        self._plug = procs.spawn(["vde_plug", url, udp], log=log)

    def disconnect(self) -> None:
        """Pull the cable at the switch side: frames stop, but the NIC keeps carrier."""
        procs.stop(self._plug, grace=2.0)
        self._plug = None
