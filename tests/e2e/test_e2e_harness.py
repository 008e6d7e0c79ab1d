"""The harness proving itself: boots guests on hand-written fixtures (marked e2e), plus
cheap checks of its plumbing that also run in the unit suite."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import tarfile
from pathlib import Path

import pytest

from .cases import harness_scenarios
from .guest import Guest, _parse
from .harness import GuestImage, run_scenario
from .image import image_key
from .vde import VdeSwitch

SCENARIOS = {s.name: s for s in harness_scenarios()}


def test_parse_markers() -> None:
    msg = _parse('\rnoise CLOUDBR-EVENT networked {"uptime": 12.5}\r', boot=1, host_s=3.0)
    assert msg is not None
    assert (msg.kind, msg.name, msg.data) == ("EVENT", "networked", {"uptime": 12.5})
    res = _parse('CLOUDBR-RESULT {"ok": true}', boot=2, host_s=9.0)
    assert res is not None
    assert (res.kind, res.data, res.boot) == ("RESULT", {"ok": True}, 2)
    assert _parse("CLOUDBR-RESULT {truncated", 1, 0.0) is None
    assert _parse("login:", 1, 0.0) is None


def test_image_key_is_stable() -> None:
    assert image_key() == image_key()
    assert len(image_key()) == 16


def test_payload_tars(tmp_path: Path) -> None:
    rootfs = tmp_path / "tree"
    (rootfs / "etc/network").mkdir(parents=True)
    (rootfs / "etc/network/interfaces").write_text("auto lo\n")
    image = GuestImage(tmp_path / "img")
    guest = Guest(image, "g1", tmp_path, [], rootfs=rootfs, case={"expect": {"x": 1}})
    guest._tar_rootfs(tmp_path / "r.tar")
    guest._tar_case(tmp_path / "c.tar")
    with tarfile.open(tmp_path / "r.tar") as tar:
        members = tar.getmembers()
        # No directory entries: extracting must not re-mode /etc.
        assert [m.name for m in members] == ["etc/network/interfaces"]
        assert members[0].uid == 0
    with tarfile.open(tmp_path / "c.tar") as tar:
        names = tar.getnames()
        case = tar.extractfile("opt/cloudbr-e2e/case.json")
        assert case is not None
        assert json.load(case) == {"name": "g1", "expect": {"x": 1}}
    assert {"opt/cloudbr-e2e/check.py", "etc/machine-id"} <= set(names)


def _relay(src: socket.socket, dst: socket.socket, to_port: int, frame: bytes) -> bytes | None:
    """Send `frame` into the switch via `src`; what arrives at `dst` (None: nothing)."""
    for _ in range(10):  # a freshly started plug needs a moment to attach
        src.sendto(frame, ("127.0.0.1", to_port))
        try:
            return dst.recv(2048)
        except TimeoutError:
            continue
    return None


@pytest.mark.e2e
@pytest.mark.skipif(not shutil.which("vde_switch"), reason="needs vde2")
def test_switch_trunks_vlan_100_and_cables(tmp_path: Path) -> None:
    """Untagged and VLAN-100-tagged frames cross the switch; a cut cable stops them and a
    restored one carries them again (no guest needed)."""
    with VdeSwitch(tmp_path, "t", ports=4) as sw:
        a, b = sw.port(), sw.port()
        socks = []
        for p in (a, b):
            p.connect()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", p.qemu_port))
            s.settimeout(0.5)
            socks.append(s)
        try:
            frames = [
                b"\xff" * 6 + bytes.fromhex("525400e2ff01") + tag + b"\x88\xb5" + bytes(46)
                for tag in (b"", struct.pack("!HH", 0x8100, 100))
            ]
            for frame in frames:
                assert _relay(socks[0], socks[1], a.plug_port, frame) == frame
            b.disconnect()
            assert _relay(socks[0], socks[1], a.plug_port, frames[1]) is None
            b.connect()
            assert _relay(socks[0], socks[1], a.plug_port, frames[1]) == frames[1]
        finally:
            for s in socks:
                s.close()
            a.disconnect()
            b.disconnect()


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_harness_scenario(name: str, guest_image: GuestImage, e2e_workdir: Path) -> None:
    res = run_scenario(SCENARIOS[name], guest_image, e2e_workdir)
    assert res.ok, "\n".join(res.failures()) + f"\nlogs: {res.workdir}"
    if SCENARIOS[name].hosts[0].failover:
        assert res.outage_ms is not None
