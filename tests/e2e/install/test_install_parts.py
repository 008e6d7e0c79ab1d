"""The install test's own parts, without booting anything (run by the unit suite).

The booted run is `make e2e-install` (python -m tests.e2e.install)."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import ipaddress
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloudbr.carriers import preseed as preseed_carrier
from cloudbr.inventory import load_inventory
from cloudbr.model import Backend
from cloudbr.pipeline import render_host
from tests.support.debian_installer import installer_root

from .__main__ import INSTALL_HOST, INVENTORY, install_net, netcfg_used_preseed
from .disk import PROBE, PROBE_FILES, PROBE_WANTS, DiskError, cat, debugfs, grub_entry, prepare
from .install import ADDED, DEFAULTS_ANSWERED, OVERLAY, OVERRIDES, preseed_document, watch
from .mirror import PACKAGES_TXT, groups, parse_index, udebs_for
from .netboot import Netboot, newc
from .serve import release_sha256, resolve
from .synthetic import tree_requests

NETBOOT = Netboot()
needs_netboot = pytest.mark.skipif(
    not NETBOOT.kernel.exists(), reason="debian-installer-12-netboot-amd64 is not installed"
)


# -- the preseeded initrd ---------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("cpio") is None, reason="needs cpio")
def test_newc_archive_is_read_by_cpio_with_mode_and_bytes(tmp_path: Path) -> None:
    data = b"d-i debian-installer/locale string en_US.UTF-8\n"
    archive = newc({"preseed.cfg": data})
    listing = subprocess.run(
        ["cpio", "-itv"], input=archive, capture_output=True, check=True
    ).stdout.decode()
    assert listing.split()[0] == "-rw-------"
    assert listing.split()[-1] == "preseed.cfg"
    subprocess.run(["cpio", "-id", "--quiet"], input=archive, cwd=tmp_path, check=True)
    assert (tmp_path / "preseed.cfg").read_bytes() == data


@needs_netboot
def test_preseeded_initrd_is_debians_plus_one_gzip_member(tmp_path: Path) -> None:
    original = NETBOOT.initrd.read_bytes()
    out = NETBOOT.preseeded_initrd(b"x y z\n", tmp_path / "initrd.gz")
    data = out.read_bytes()
    assert data.startswith(original)  # Debian's initrd untouched, byte for byte
    extra = gzip.decompress(data[len(original) :])
    listing = subprocess.run(["cpio", "-it"], input=extra, capture_output=True, check=True)
    assert listing.stdout.split() == [b"preseed.cfg"]
    # An OVS host's early_command fetches its programs from beside /preseed.cfg.
    out = NETBOOT.preseeded_initrd(b"x\n", tmp_path / "ovs.gz", {"cloudbr-ovs-firstboot": b"p"})
    extra = gzip.decompress(out.read_bytes()[len(original) :])
    subprocess.run(["cpio", "-id", "--quiet"], input=extra, cwd=tmp_path, check=True)
    assert (tmp_path / "cloudbr-ovs-firstboot").read_bytes() == b"p"


@needs_netboot
def test_kernel_release_matches_file_1() -> None:
    described = subprocess.run(
        ["file", "-b", str(NETBOOT.kernel)], capture_output=True, text=True, check=True
    ).stdout
    assert f"version {NETBOOT.kernel_release} " in described


@needs_netboot
def test_kernel_abi_keeps_the_installers_own_module_udebs() -> None:
    """The initrd's own kernel and module udebs (its dpkg status, Debian's names) are of the
    ABI read from the kernel image, and its modules are under the kernel's release."""
    root = installer_root()
    assert (root / "lib/modules" / NETBOOT.kernel_release).is_dir()
    own = [u for u in parse_index((root / "var/lib/dpkg/status").read_text())]
    kernel = [u["Package"] for u in own if u["Package"].startswith("kernel-image-")]
    assert kernel, "no kernel udeb in the initrd"
    kept = {u["Package"] for u in udebs_for(own, NETBOOT.kernel_abi)}
    assert kept == {u["Package"] for u in own}
    assert udebs_for(own, "0.0.0-1") != own  # another ABI drops them


# -- the test overlay -------------------------------------------------------------------------
def _questions(text: str) -> dict[str, str]:
    """owner/question -> value line, last one wins (as debconf-set-selections)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", " ")) and len(line.split(None, 3)) >= 3:
            _owner, question, *_ = line.split(None, 3)
            out[question] = line
    return out


def test_overlay_overrides_only_what_it_documents() -> None:
    inv = load_inventory(INVENTORY)
    host = next(h for h in inv.hosts if h.hostname == INSTALL_HOST)
    cloudbr = render_host(host)["preseed.cfg"].content
    combined = preseed_document(cloudbr).decode()
    assert combined.startswith(cloudbr.decode())  # cloudbr's document comes first, whole
    overlay = _questions(OVERLAY)
    theirs = _questions(cloudbr.decode())
    assert {q for q in overlay if q in theirs} == set(OVERRIDES)
    # The rest answers questions cloudbr leaves to d-i's defaults, or adds instrumentation.
    assert {q for q in overlay if q not in theirs} == set(DEFAULTS_ANSWERED) | set(ADDED)
    assert "preseed/late_command" not in overlay
    for question in overlay:
        assert _questions(combined)[question] == overlay[question]


# -- the install network ----------------------------------------------------------------------
def test_install_network_is_the_preseeds_own_inside_a_restricted_slirp(tmp_path: Path) -> None:
    inv = load_inventory(INVENTORY)
    host = next(h for h in inv.hosts if h.hostname == INSTALL_HOST)
    net = install_net(host)
    assert net.address == ipaddress.IPv4Interface("192.168.100.40/24")
    assert str(net.gateway) == "192.168.100.1"
    assert str(net.mirror) == "192.168.100.250"
    opts = net.netdev(tmp_path, tmp_path / "log").split(",")
    assert opts[0] == "user"
    assert "restrict=on" in opts
    assert not [o for o in opts if o.startswith("hostfwd")]
    assert [o.split("-cmd:")[0] for o in opts if o.startswith("guestfwd")] == [
        "guestfwd=tcp:192.168.100.250:80"
    ]
    with pytest.raises(ValueError, match="commas"):
        net.netdev(tmp_path / "a,b", tmp_path / "log")


def test_mirror_carries_every_package_the_preseed_includes() -> None:
    named = {n for g in groups(PACKAGES_TXT.read_text()) for n in g}
    inv = load_inventory(INVENTORY)
    host = next(h for h in inv.hosts if h.hostname == INSTALL_HOST)
    for backend in Backend:
        variant = dataclasses.replace(host, backend=backend)
        assert set(preseed_carrier.packages(variant)) <= named, backend


# -- the mirror's index handling --------------------------------------------------------------
def test_groups_keep_priorities_apart_and_named_packages_together() -> None:
    text = "# c\n@priority:required\nfoo  # why\n\n@priority:standard\nbar\n"
    assert groups(text) == [["@priority:required"], ["@priority:standard"], ["foo", "bar"]]


def test_release_sha256_reads_only_the_sha256_section() -> None:
    release = (
        "Origin: Debian\nMD5Sum:\n 0123 10 main/x\nSHA256:\n"
        " aa 10 main/binary-amd64/Packages.xz\n bb 20 main/i18n/Translation-en.xz\n"
    )
    assert release_sha256(release) == {
        "main/binary-amd64/Packages.xz": ("aa", 10),
        "main/i18n/Translation-en.xz": ("bb", 20),
    }


def test_udebs_of_another_kernel_abi_are_left_out() -> None:
    index = "\n\n".join(
        f"Package: {name}\nVersion: 1\nFilename: pool/{name}.udeb"
        for name in (
            "nic-modules-6.1.0-50-amd64-di",
            "nic-modules-6.1.0-47-amd64-di",
            "kernel-image-6.1.0-47-amd64-di",
            "partman-base",
            "libc6-udeb",
        )
    )
    kept = [u["Package"] for u in udebs_for(parse_index(index), "6.1.0-50")]
    assert kept == ["nic-modules-6.1.0-50-amd64-di", "partman-base", "libc6-udeb"]


# -- the mirror's server ----------------------------------------------------------------------
@pytest.fixture
def mirror_root(tmp_path: Path) -> Path:
    dists = tmp_path / "debian/dists/bookworm"
    (dists / "main/binary-amd64").mkdir(parents=True)
    (dists / "main/binary-amd64/Packages.xz").write_bytes(b"packages")
    digest = "a" * 64
    (dists / "Release").write_text(f"SHA256:\n {digest} 8 main/binary-amd64/Packages.xz\n")
    (tmp_path / "debian/pool").mkdir()
    (tmp_path / "debian/pool/x.deb").write_bytes(b"deb!")
    (tmp_path / "secret").write_text("outside the mirror dir")
    return tmp_path


def test_resolve_by_hash_and_refuse_paths_outside(mirror_root: Path) -> None:
    root = mirror_root / "debian"
    by_hash = "/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/" + "a" * 64
    assert resolve(mirror_root, by_hash) == root / "dists/bookworm/main/binary-amd64/Packages.xz"
    assert resolve(mirror_root, by_hash.replace("a" * 64, "b" * 64)) is None
    assert resolve(root, "/../secret") is None
    assert resolve(root, "/pool/") is None  # directories are not served


def test_server_speaks_http_keepalive_over_its_stdin(mirror_root: Path) -> None:
    log = mirror_root / "requests.log"
    ours, theirs = socket.socketpair()
    serve = Path(__file__).with_name("serve.py")
    proc = subprocess.Popen(
        [sys.executable, str(serve), str(mirror_root), str(log)], stdin=theirs, stdout=theirs
    )
    theirs.close()
    try:
        conn = http.client.HTTPConnection("192.168.100.250")
        conn.sock = ours
        conn.request("GET", "/debian/pool/x.deb")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"deb!")
        conn.request("HEAD", "/debian/pool/missing.udeb")  # same connection: keep-alive
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404
        conn.close()
        assert proc.wait(10) == 0
    finally:
        proc.kill()
    lines = [line.split()[1:] for line in log.read_text().splitlines()]
    assert lines == [
        ["200", "GET", "/debian/pool/x.deb", "4"],
        ["404", "HEAD", "/debian/pool/missing.udeb", "0"],
    ]


# -- the installed disk, offline --------------------------------------------------------------
GRUB_CFG = """\
set default="0"
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {
	insmod ext2
	echo	'Loading Linux 6.1.0-50-amd64 ...'
	linux	/boot/vmlinuz-6.1.0-50-amd64 root=UUID=1234 ro net.ifnames=0 biosdevname=0 console=ttyS0,115200n8 quiet
	initrd	/boot/initrd.img-6.1.0-50-amd64
}
menuentry 'Debian GNU/Linux, recovery' {
	linux	/boot/vmlinuz-old root=UUID=1234 ro single
	initrd	/boot/initrd.img-old
}
"""


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("qemu-img", "sfdisk", "mkfs.ext4", "debugfs")),
    reason="needs qemu-img, sfdisk, mkfs.ext4, debugfs",
)
def test_prepare_boots_grubs_entry_and_adds_only_the_probe(tmp_path: Path) -> None:
    """A d-i-like disk (dos label, swap first, ext4 root with /boot) in a qcow2."""
    root = tmp_path / "root"
    (root / "boot/grub").mkdir(parents=True)
    (root / "boot/grub/grub.cfg").write_text(GRUB_CFG)
    (root / "boot/vmlinuz-6.1.0-50-amd64").write_bytes(b"kernel bytes")
    (root / "boot/initrd.img-6.1.0-50-amd64").write_bytes(b"initrd bytes")
    (root / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True)
    (root / "usr/local/sbin").mkdir(parents=True)
    raw = tmp_path / "disk.raw"
    subprocess.run(["truncate", "-s", "96M", str(raw)], check=True)
    layout = "label: dos\nstart=2048, size=20480, type=82\nstart=22528, size=150000, type=83\n"
    subprocess.run(["sfdisk", "-q", str(raw)], input=layout.encode(), check=True)
    offset = 22528 * 512
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-E", f"offset={offset}", "-d", str(root), str(raw), "75000k"],
        check=True,
    )
    qcow2 = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(qcow2)], check=True)

    disk = prepare(qcow2, tmp_path / "booted")
    assert disk.kernel.read_bytes() == b"kernel bytes"
    assert disk.initrd.read_bytes() == b"initrd bytes"
    args = disk.cmdline.split()
    assert args[:7] == [
        "root=UUID=1234",
        "ro",
        "net.ifnames=0",
        "biosdevname=0",
        "console=ttyS0,115200n8",
        "quiet",
        "panic=1",
    ]
    fs = f"{disk.disk}?offset={offset}"
    for rel, mode in PROBE_FILES.items():
        assert cat(fs, f"/{rel}") == (PROBE / rel).read_bytes()
        stat = debugfs(fs, f"stat /{rel}")
        assert f"Mode:  0{mode & 0o7777:o}" in stat, stat
    link = debugfs(fs, f"stat {PROBE_WANTS}")
    assert "Type: symlink" in link
    assert "/etc/systemd/system/cloudbr-e2e-probe.service" in link
    fsck = subprocess.run(["e2fsck", "-fn", fs], capture_output=True, text=True, check=False)
    assert fsck.returncode == 0, fsck.stdout


def test_grub_entry_needs_linux_and_initrd() -> None:
    assert grub_entry(GRUB_CFG).kernel == "/boot/vmlinuz-6.1.0-50-amd64"
    with pytest.raises(DiskError):
        grub_entry("menuentry 'x' {\n}\n")


# -- following the install --------------------------------------------------------------------
def test_watch_stops_at_the_first_udeb_the_mirror_lacks(tmp_path: Path) -> None:
    requests, syslog = tmp_path / "requests.log", tmp_path / "syslog.log"
    t0 = time.time()
    requests.write_text(
        f"{t0 + 1} 404 GET /debian/dists/oldstable/Release 0\n"
        f"{t0 + 2} 200 GET /debian/dists/bookworm/Release 149266\n"
        f"{t0 + 3} 200 GET /debian/dists/bookworm/main/debian-installer/binary-amd64/Packages.xz 5\n"
        f"{t0 + 4} 404 GET /debian/pool/main/a/apt-setup/apt-mirror-setup_0.182_all.udeb 0\n"
    )
    syslog.write_text(
        "Dec  1 22:00:37 preseed: successfully loaded preseed file from file:///preseed.cfg\n"
    )
    guest = subprocess.Popen(["sleep", "30"])
    try:
        result = watch(guest, t0, requests, syslog, timeout=20, grace=0, poll=0.05)
    finally:
        guest.kill()
        guest.wait()
    assert not result.ok
    assert result.stopped_at == (
        "anna: udeb not served by the mirror "
        "(/debian/pool/main/a/apt-setup/apt-mirror-setup_0.182_all.udeb)"
    )
    assert list(result.milestones) == [
        "preseed read from the initrd",
        "mirror reached (netcfg static network up)",
        "udeb index",
    ]
    assert result.milestones["udeb index"] == pytest.approx(3, abs=0.01)


# Lines of d-i's syslog from a run of `make e2e-install` on this machine (netcfg 1.187+deb12u1).
NETCFG_LOG = """\
Dec  1 22:16:41 netcfg[3243]: INFO: Activating interface eth0
Dec  1 22:16:41 netcfg[3243]: INFO: executing: ip addr add 192.168.100.40/24 broadcast 192.168.100.255 dev eth0
Dec  1 22:16:42 netcfg[3243]: ARPING 192.168.100.1 from 192.168.100.40 eth0
Dec  1 22:16:42 netcfg[3243]: Unicast reply from 192.168.100.1 [52:55:c0:a8:64:01] 4.750ms
Dec  1 22:16:42 netcfg[3243]: INFO: Gateway reachable on eth0
"""


def test_netcfg_check_wants_the_preseeds_address_and_gateway(tmp_path: Path) -> None:
    inv = load_inventory(INVENTORY)
    host = next(h for h in inv.hosts if h.hostname == INSTALL_HOST)
    log = tmp_path / "syslog"
    log.write_text(NETCFG_LOG)
    assert netcfg_used_preseed(log, host) == (True, "not in d-i's syslog: []")
    log.write_text(NETCFG_LOG.replace("192.168.100.40/24", "10.0.2.15/24"))
    ok, detail = netcfg_used_preseed(log, host)
    assert not ok
    assert "ip addr add 192.168.100.40/24" in detail


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("mkfs.ext4", "debugfs")), reason="needs e2fsprogs"
)
def test_tree_requests_lay_a_tree_down_with_modes_and_links(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc/network").mkdir(parents=True)
    (tree / "etc/network/interfaces").write_text("auto lo\n")
    (tree / "etc/network/interfaces").chmod(0o600)
    (tree / "etc/link").symlink_to("/etc/network/interfaces")
    fs = tmp_path / "fs.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-F", str(fs), "8M"], check=True)
    debugfs(str(fs), *tree_requests(tree), write=True)
    assert cat(str(fs), "/etc/network/interfaces") == b"auto lo\n"
    assert "Mode:  0600" in debugfs(str(fs), "stat /etc/network/interfaces")
    assert 'Fast link dest: "/etc/network/interfaces"' in debugfs(str(fs), "stat /etc/link")
