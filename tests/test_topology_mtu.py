"""One inventory with MTUs through every format, each read back by its consumer: the same
effective MTU on every interface everywhere (cloudbr.topology's rules, written out by hand
below for this inventory).

Consumers: `netplan generate` (the networkd units it writes), `ifquery --state-dir` for
/etc/network/interfaces, the ifcfg files sourced in bash as initscripts and ifup-ovs do, and
the OVS first-boot plan as the program itself parses it (`--parse`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cloudbr import render
from cloudbr.inventory import parse_inventory
from cloudbr.model import Host
from cloudbr.render import eni, ovs_firstboot

INVENTORY = """\
site: {{backend: {backend}, distro: {distro}}}
hosts:
  - hostname: mtu1
    address: 192.0.2.10/24
    gateway: 192.0.2.1
    topology:
      nics:
        - {{name: eth0, mtu: 9000}}
        - {{name: eth1}}
        - {{name: eth2, mtu: 1400}}
      bonds: [{{name: bond0, members: [eth0, eth1], mtu: 9000}}]
      bridges:
        - {{name: cloudbr0, uplink: bond0, mtu: 9000}}
        - {{name: cloudbr1, uplink: eth2, mtu: 1400}}
    traffic_labels: {{management: cloudbr0, guest: cloudbr0, public: cloudbr1}}
"""
# eth1 has no MTU of its own: it inherits its bond's, in every format.
WANT = {"eth0": 9000, "eth1": 9000, "eth2": 1400, "cloudbr0": 9000, "cloudbr1": 1400}
WANT_LINUX = {**WANT, "bond0": 9000}


def host(backend: str, distro: str) -> Host:
    return parse_inventory(INVENTORY.format(backend=backend, distro=distro), "mtu.yaml").hosts[0]


def write_tree(h: Host, root: Path) -> None:
    for path, f in render.rootfs(h).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)


def test_netplan_generate(tmp_path: Path) -> None:
    write_tree(host("linuxbridge", "ubuntu1804"), tmp_path)
    out = subprocess.run(
        ["netplan", "generate", "--root-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    got: dict[str, int] = {}
    for unit in (tmp_path / "run/systemd/network").glob("10-netplan-*"):
        text = unit.read_text()
        name = re.search(r"^Name=(\S+)$", text, re.M)
        mtu = re.search(r"^MTUBytes=(\d+)$", text, re.M)
        if name and mtu:
            got[name.group(1)] = int(mtu.group(1))
    assert got == WANT_LINUX


@pytest.mark.parametrize("backend", ["linuxbridge", "ovs"])
def test_ifquery(tmp_path: Path, backend: str) -> None:
    h = host(backend, "debian12")
    path = tmp_path / "interfaces"
    path.write_bytes(eni.render(h)[eni.INTERFACES].content)
    got: dict[str, int] = {}
    for iface in [*WANT_LINUX]:
        out = subprocess.run(
            ["ifquery", "-i", str(path), "--state-dir", str(tmp_path / "st"), iface],
            capture_output=True,
            text=True,
        )
        for line in out.stdout.splitlines():
            key, _, value = line.partition(": ")
            if key == "mtu":
                got[iface] = int(value)
            for name, mtu in re.findall(r"set interface (\S+) mtu_request=(\d+)", value):
                got[name] = int(mtu)
    assert got == (WANT_LINUX if backend == "linuxbridge" else WANT)


SOURCE = 'for f in "$1"/ifcfg-*; do (. "$f"; echo "$DEVICE ${MTU:-} ${OVS_EXTRA:-}"); done'


@pytest.mark.parametrize("backend", ["linuxbridge", "ovs"])
def test_ifcfg_as_initscripts_read_it(tmp_path: Path, backend: str) -> None:
    write_tree(host(backend, "centos7"), tmp_path)
    scripts = tmp_path / "etc/sysconfig/network-scripts"
    out = subprocess.run(["bash", "-c", SOURCE, "sh", str(scripts)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    mtu: dict[str, int] = {}
    requests: dict[str, int] = {}
    for line in out.stdout.splitlines():
        device, value, *extra = line.split(" ", 2)
        if value:
            mtu[device] = int(value)
        for name, m in re.findall(r"set Interface (\S+) mtu_request=(\d+)", " ".join(extra)):
            requests[name] = int(m)
    if backend == "linuxbridge":
        assert mtu == WANT_LINUX
        return
    # ifup-ovs: members and ports through ifup-eth (MTU=), the bond file's MTU= is read by
    # nothing (so there is none), OVS keeps an MTU only as mtu_request (OVS_EXTRA).
    assert "bond0" not in mtu
    assert mtu == WANT
    assert requests == WANT


def test_first_boot_plan_as_the_program_parses_it(tmp_path: Path) -> None:
    files = ovs_firstboot.render(host("ovs", "debian12"))
    program, plan = tmp_path / "prog", tmp_path / "plan"
    program.write_bytes(files[ovs_firstboot.SCRIPT].content)
    plan.write_bytes(files[ovs_firstboot.PLAN].content)
    out = subprocess.run(
        ["bash", str(program), "--parse", str(plan)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    got = {w[1]: int(w[2]) for w in map(str.split, out.stdout.splitlines()) if w[0] == "mtu"}
    assert got == WANT
