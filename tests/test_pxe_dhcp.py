"""OUT/pxe/dnsmasq.conf answered by dnsmasq itself (dnsmasq-base 2.90, as Debian 12 ships it),
running in a network namespace of the test whose loopback carries the boot server (10.1.0.2)
and the clients' addresses: what a PXE client of each architecture is told to load, and what
a machine that only leases from the range is told.

The client below builds the DHCP packets PXE firmware and iPXE send (RFC 2131 with the PXE
options of RFC 4578: 60 "PXEClient:Arch:...", 93 client architecture, 94, 97, and iPXE's user
class 77 "iPXE"); a request to port 4011 is proxy-DHCP's boot-server step.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.test_pxe import dnsmasq_test, inventory, render

CLIENT = r"""
import socket, struct, sys
src, mac, arch, user_class = sys.argv[1:5]
arch = int(arch)


def packet(kind, ciaddr, item=None):
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x1234, 0, 0x8000,
                       socket.inet_aton(ciaddr), bytes(4), bytes(4), bytes(4),
                       bytes.fromhex(mac.replace(":", "")) + bytes(10), b"", b"")
    vendor = b"PXEClient:Arch:%05d:UNDI:003016" % arch
    opts = b"\x63\x82\x53\x63" + bytes([53, 1, kind, 60, len(vendor)]) + vendor
    opts += bytes([93, 2]) + struct.pack("!H", arch)
    opts += bytes([94, 3, 1, 3, 16, 97, 17, 0]) + bytes(16)
    if user_class != "-":
        opts += bytes([77, len(user_class)]) + user_class.encode()
    if item is not None:  # the boot server type picked from the menu, layer 0
        opts += bytes([43, 7, 71, 4]) + struct.pack("!HH", item, 0) + bytes([255])
    return head + opts + bytes([55, 5, 1, 3, 6, 66, 67, 255])


def options(data):
    found, rest = {}, data[240:]
    while rest and rest[0] != 255:
        if rest[0] == 0:
            rest = rest[1:]
            continue
        found[rest[0]] = rest[2 : 2 + rest[1]]
        rest = rest[2 + rest[1]:]
    return found


def exchange(data, bind, to):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(bind)
    s.settimeout(5)
    s.sendto(data, to)
    return s.recv(4096)


# DISCOVER, as firmware and iPXE broadcast it; the offer's boot file, address and router.
offer = exchange(packet(1, "0.0.0.0"), ("", 68), ("10.1.0.2", 67))
found = options(offer)
# The boot file: in option 67 when the client asked for it (as here), else in `file`.
boot = found.get(67, offer[108:236]).split(b"\0")[0].decode() or "-"
line = [boot, socket.inet_ntoa(offer[16:20]), found.get(3, b"").hex() or "-"]
if sys.argv[5:] == ["boot-server"]:  # proxy-DHCP: then the boot server on port 4011
    menu, vendor = [], options(b"\0" * 240 + found.get(43, b"") + b"\xff")
    items = vendor.get(9, b"")
    while items:  # PXE_BOOT_MENU: type (2), description length (1), description
        menu.append(struct.unpack("!H", items[:2])[0])
        items = items[3 + items[2]:]
    # PXE ROMs (BIOS) ask for the menu's item; UEFI firmware asks with no item at all.
    item = menu[0] if menu and arch < 6 else None
    ack = exchange(packet(3, src, item), (src, 0), ("10.1.0.2", 4011))
    line = [options(ack).get(67, ack[108:236]).split(b"\0")[0].decode() or "-", "-", "-"]
print(" ".join(line))
"""


@pytest.fixture
def dnsmasq(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """dnsmasq with the rendered configuration for `request.param` (site.pxe settings),
    answering in a namespace of its own; yields the namespace."""
    pxe = dict(request.param)
    longer = pxe.pop("chain_longer_by", 0)  # the chain URL made longer than check allows
    doc = yaml.safe_load(inventory(pxe))
    doc["site"]["pxe"]["tftp_root"] = str(tmp_path / "tftp")
    (tmp_path / "tftp").mkdir()
    conf = render(tmp_path, yaml.safe_dump(doc)) / "pxe/dnsmasq.conf"
    conf.write_text(conf.read_text().replace("/pxe/boot.ipxe", "x" * longer + "/pxe/boot.ipxe"))
    assert dnsmasq_test(conf).returncode == 0
    ns = f"cbr-dhcp-unit-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
    try:
        for addr in ("10.1.0.2/24", "10.1.0.21/32", "10.1.0.22/32"):
            subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", "lo"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True, timeout=30)
        argv = ["dnsmasq", "--keep-in-foreground", f"--conf-file={conf}", "--user=root"]
        argv += [f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'pid'}"]
        argv += [f"--log-facility={tmp_path / 'dnsmasq.log'}"]
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv])
        try:
            deadline = time.monotonic() + 10
            while "started" not in _log(tmp_path):
                assert proc.poll() is None, _log(tmp_path)
                assert time.monotonic() < deadline, "dnsmasq did not start"
                time.sleep(0.05)
            yield ns
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)


def _log(tmp_path: Path) -> str:
    log = tmp_path / "dnsmasq.log"
    return log.read_text() if log.exists() else ""


def ask(ns: str, mac: str, arch: int, *, ipxe: bool, boot_server: bool = False) -> list[str]:
    """(boot file, offered address, router option hex or '-') of dnsmasq's offer; with
    `boot_server`, the boot file of proxy-DHCP's answer on port 4011 (from 10.1.0.21)."""
    args = ["10.1.0.21", mac, str(arch), "iPXE" if ipxe else "-"]
    args += ["boot-server"] if boot_server else []
    res = subprocess.run(
        ["ip", "netns", "exec", ns, "python3", "-c", CLIENT, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return res.stdout.split()


CHAIN = "http://10.1.0.2/cloudbr/pxe/boot.ipxe"
DEB1 = "52:54:00:00:00:21"


@pytest.mark.parametrize("dnsmasq", [{"dhcp": {"mode": "proxy"}}], indirect=True)
@pytest.mark.parametrize(
    ("arch", "loader"), [(0, "undionly.kpxe"), (7, "ipxe.efi"), (9, "ipxe.efi")]
)
def test_proxy_dhcp_boots_every_x86_architecture(dnsmasq: str, arch: int, loader: str) -> None:
    """7 and 9 are both x86-64 UEFI in the field (iPXE's EFI build sends 9): firmware gets
    iPXE, and iPXE the chain script, whichever it reports."""
    assert ask(dnsmasq, DEB1, arch, ipxe=False, boot_server=True)[0] == loader
    assert ask(dnsmasq, DEB1, arch, ipxe=True, boot_server=True)[0] == CHAIN


RANGE = {"dhcp": {"mode": "dhcp", "range": {"start": "10.1.0.200", "end": "10.1.0.250"}}}


@pytest.mark.parametrize("dnsmasq", [RANGE], indirect=True)
def test_range_clients_get_no_router_and_hosts_their_gateway(dnsmasq: str) -> None:
    boot, address, router = ask(dnsmasq, "52:54:00:99:99:99", 0, ipxe=False)
    assert (boot, router) == ("-", "-")  # a machine the inventory does not have: no boot
    assert "10.1.0.200" <= address <= "10.1.0.250"  # file, and not dnsmasq as its router
    assert ask(dnsmasq, DEB1, 9, ipxe=False) == ["ipxe.efi", "10.1.0.21", "0a010001"]
    assert ask(dnsmasq, DEB1, 9, ipxe=True) == [CHAIN, "10.1.0.21", "0a010001"]


LONGEST = "http://10.1.0.2/" + "p" * (113 - len("http://10.1.0.2/"))  # check's limit


@pytest.mark.parametrize(
    ("dnsmasq", "sent"),
    [
        ({"dhcp": {"mode": "proxy"}, "http_url": LONGEST}, f"{LONGEST}/pxe/boot.ipxe"),
        (
            {"dhcp": {"mode": "proxy"}, "http_url": LONGEST, "chain_longer_by": 1},
            f"{LONGEST}x/pxe/boot.ipxe"[:127],  # one cut off: the field's last byte is a NUL
        ),
    ],
    indirect=["dnsmasq"],
    ids=["at-the-limit", "one-more"],
)
def test_proxy_dhcp_sends_at_most_127_characters_of_chain_url(dnsmasq: str, sent: str) -> None:
    got = ask(dnsmasq, DEB1, 9, ipxe=True, boot_server=True)[0]
    assert (got, len(got)) == (sent, len(sent))
