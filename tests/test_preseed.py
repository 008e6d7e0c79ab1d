"""The preseed carrier, proven by debconf-set-selections --checkonly, bash -n, shellcheck, and
by running its late script against a scratch target (a `chroot` shim records what would run
inside the installed system; nothing runs on this machine)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path

import pytest

from cloudbr import render
from cloudbr.carriers import preseed
from cloudbr.files import FileMap
from cloudbr.inventory import parse_inventory
from cloudbr.model import Backend, Distro, Host
from cloudbr.render import debian_extras
from tests.test_eni import HOSTS

PRESEED_HOSTS = {k: h for k, h in HOSTS.items() if not k.startswith("variant-ubuntu")}


def build(host: Host) -> tuple[FileMap, str]:
    tree = render.rootfs(host)
    files = preseed.render(host, tree)
    f = files[preseed.PRESEED]
    assert f.mode == 0o600
    return tree, f.content.decode()


def selections(text: str) -> dict[str, tuple[str, str]]:
    """question -> (type, value), joining backslash-continued lines the way
    debconf-set-selections does (the backslash and newline are removed, nothing else)."""
    out: dict[str, tuple[str, str]] = {}
    lines = iter(text.splitlines())
    for line in lines:
        while line.endswith("\\"):
            line = line[:-1] + next(lines)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^\s*(\S+)\s+(\S+)\s+(\S+)(?:\s(.*))?$", line)
        assert m, line
        out[m.group(2)] = (m.group(3), m.group(4) or "")
    return out


@pytest.mark.parametrize("name", sorted(PRESEED_HOSTS))
def test_debconf_accepts_the_preseed(name: str, tmp_path: Path) -> None:
    _, text = build(PRESEED_HOSTS[name])
    path = tmp_path / "preseed.cfg"
    path.write_text(text)
    out = subprocess.run(
        ["debconf-set-selections", "--checkonly", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    # Unknown types are only warnings there: refuse them too.
    assert out.stderr == "", out.stderr


@pytest.mark.parametrize("name", sorted(PRESEED_HOSTS))
def test_install_time_network_and_packages(name: str) -> None:
    host = PRESEED_HOSTS[name]
    _, text = build(host)
    sel = selections(text)
    addr = host.primary_address
    assert addr is not None
    assert sel["netcfg/get_ipaddress"] == ("string", str(addr.ip))
    assert sel["netcfg/get_netmask"] == ("string", str(addr.netmask))
    assert sel["netcfg/get_gateway"] == ("string", str(host.gateway4))
    assert sel["netcfg/disable_autoconfig"] == ("boolean", "true")
    assert sel["netcfg/get_nameservers"][1].split() == [str(s) for s in host.dns.servers]
    assert sel["netcfg/get_hostname"][1] == host.hostname
    bond = host.bond(host.primary_bridge.uplink or "")
    assert sel["netcfg/choose_interface"][1] == (bond.primary or bond.members[0])
    assert bond.primary is None or sel["netcfg/choose_interface"][1] == bond.primary
    pkgs = sel["pkgsel/include"][1].split()
    assert "openssh-server" in pkgs
    if host.backend is Backend.OVS:
        assert {"openvswitch-switch", "ifupdown"} <= set(pkgs)
    elif host.distro is Distro.DEBIAN12:
        assert {"ifupdown", "ifenslave", "bridge-utils"} <= set(pkgs)
    ubuntu_ovs = host.distro is Distro.UBUNTU1804 and host.backend is Backend.OVS
    assert ("netcfg/do_not_use_netplan" in sel) == ubuntu_ovs
    codename = {"ubuntu1804": "bionic", "debian12": "bookworm"}[host.distro.value]
    assert sel["mirror/suite"][1] == codename
    if host.access.root_password_hash:
        assert sel["passwd/root-password-crypted"] == ("password", host.access.root_password_hash)


def test_default_and_custom_mirror() -> None:
    sel = selections(build(HOSTS["debian12-ovs"])[1])
    assert sel["mirror/http/hostname"][1] == "deb.debian.org"
    assert sel["mirror/http/directory"][1] == "/debian"
    sel = selections(build(HOSTS["ubuntu1804-ovs"])[1])
    assert sel["mirror/http/hostname"][1] == "archive.ubuntu.com"
    text = (Path(__file__).parents[1] / "examples/seed-ubuntu1804-ovs.yaml").read_text()
    text += "    installer:\n      mirror: https://mirror.example.net:8443/pub/ubuntu/\n"
    host = parse_inventory(text, "x.yaml").hosts[0]
    sel = selections(build(host)[1])
    assert sel["mirror/protocol"][1] == "https"
    assert sel["mirror/https/hostname"][1] == "mirror.example.net:8443"
    assert sel["mirror/https/directory"][1] == "/pub/ubuntu"


def test_no_password_hash_locks_root() -> None:
    sel = selections(build(HOSTS["ubuntu1804-ovs"])[1])  # the seed examples have no access
    assert HOSTS["ubuntu1804-ovs"].access.root_password_hash is None
    assert sel["passwd/root-password-crypted"] == ("password", "!")
    assert "passwd/root-password" not in sel


def _late_command(text: str) -> str:
    return selections(text)["preseed/late_command"][1]


def _shellcheck(path: Path) -> None:
    for cmd in (["bash", "-n", str(path)], ["shellcheck", "-s", "sh", str(path)]):
        out = subprocess.run(cmd, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("name", sorted(PRESEED_HOSTS))
def test_late_command_carries_the_late_script(name: str, tmp_path: Path) -> None:
    host = PRESEED_HOSTS[name]
    tree, text = build(host)
    cmd = _late_command(text)
    path = tmp_path / "late_command.sh"
    path.write_text(cmd + "\n")
    _shellcheck(path)
    assert "http" not in cmd  # fetches nothing
    payload = re.search(r"printf '%s\\n' '([A-Za-z0-9+/=]+)'", cmd)
    assert payload, cmd
    assert base64.b64decode(payload.group(1)).decode() == preseed.late_script(host, tree)
    assert f"in-target sh {preseed.LATE_SCRIPT}" in cmd


def _run_late_script(host: Host, tmp_path: Path) -> tuple[FileMap, Path, str]:
    tree, _ = build(host)
    script = tmp_path / "late.sh"
    script.write_text(preseed.late_script(host, tree))
    _shellcheck(script)
    target = tmp_path / "target"
    (target / "etc/netplan").mkdir(parents=True)
    (target / "etc/netplan/01-netcfg.yaml").write_text("network: {}\n")  # d-i's own
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "chroot.log"
    (shim / "chroot").write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    (shim / "chroot").chmod(0o755)
    env = dict(os.environ, PATH=f"{shim}:{os.environ['PATH']}")
    out = subprocess.run(["sh", str(script), str(target)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tree, target, log.read_text() if log.exists() else ""


@pytest.mark.parametrize("name", sorted(PRESEED_HOSTS))
def test_late_script_writes_exactly_the_tree(name: str, tmp_path: Path) -> None:
    host = PRESEED_HOSTS[name]
    tree, target, chroot_log = _run_late_script(host, tmp_path)
    expected = preseed.carried_files(host, tree)
    written = {"/" + str(p.relative_to(target)): p for p in target.rglob("*") if p.is_file()}
    assert set(written) == set(expected)
    for path, f in expected.items():
        assert written[path].read_bytes() == f.content, path
        assert written[path].stat().st_mode & 0o7777 == f.mode, path
    if host.access.ssh_authorized_keys:
        keys = (target / "root/.ssh/authorized_keys").read_text().split("\n")
        assert keys[: len(host.access.ssh_authorized_keys)] == list(host.access.ssh_authorized_keys)
        assert (target / "root/.ssh").stat().st_mode & 0o777 == 0o700
    # The installer's netplan file is gone; ours (if any) is the only one left.
    assert not (target / "etc/netplan/01-netcfg.yaml").exists()
    commands = chroot_log.splitlines()
    # Units the tree ships are enabled in the target (OVS hosts: the first-boot service).
    enable = f"{target} systemctl enable cloudbr-ovs-firstboot.service"
    assert (enable in commands) == (host.backend is Backend.OVS)
    grub = debian_extras.GRUB_DROPIN in tree
    assert (f"{target} update-grub" in commands) == grub
    ubuntu_ovs = host.distro is Distro.UBUNTU1804 and host.backend is Backend.OVS
    assert (f"{target} apt-get -y purge netplan.io nplan" in commands) == ubuntu_ovs
    if grub and ubuntu_ovs:
        # netplan goes before the files go down; update-grub runs once they are there.
        purge = commands.index(f"{target} apt-get -y purge netplan.io nplan")
        assert purge < commands.index(f"{target} update-grub")
