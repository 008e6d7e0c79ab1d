"""The preseed carrier, read and run by debian-installer's own code (tests/support/
debian_installer.py): the text initrd of debian-installer-12-netboot-amd64, its shell
`debconf-set-selections` (source package `preseed`, file debconf-set-selections; it strips a
continued line's leading whitespace and joins it with ONE space), cdebconf, busybox and
`in-target`; the late_command runs the way /bin/preseed_command runs it (`sh -c`) into a
scratch overlay of a real Debian 12 root (mmdebstrap minbase + systemd)."""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import re
import shlex
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudbr import cli, render
from cloudbr.carriers import embed, preseed
from cloudbr.files import FileMap
from cloudbr.inventory import parse_inventory, rules
from cloudbr.model import Backend, Distro, Host
from cloudbr.platforms import platform
from cloudbr.render import debian_extras, ovs_firstboot
from tests.conftest import REPO
from tests.support import keys as keys_like
from tests.support.debian_installer import Installed, entries, run_installer
from tests.test_eni import HOSTS

PRESEED_HOSTS = {k: h for k, h in HOSTS.items() if not k.startswith("variant-ubuntu")}
# One late_command run per distro x backend, plus the topology away from the reference one.
LATE_HOSTS = ["debian12-bridge", "debian12-ovs", "ubuntu1804-bridge", "ubuntu1804-ovs"]
LATE_HOSTS += ["variant-ovs"]
# The scratch target has no boot disk for grub-mkconfig to probe: update-grub records calls.
UPDATE_GRUB = "/usr/sbin/update-grub"
GRUB_LOG = "var/log/cloudbr-update-grub.calls"
RECORDER = f'#!/bin/sh\necho "update-grub $*" >> /{GRUB_LOG}\n'.encode()
# d-i's own netplan file in the target (Ubuntu's netcfg writes one), which must go.
DI_NETPLAN = "/etc/netplan/01-netcfg.yaml"
# What d-i's in-target and apt leave in any target, beside what the late script writes.
INSTALLER_BOOKKEEPING = re.compile(
    r"^/(var/lib/dpkg/|var/cache/apt/|var/lib/apt/|var/log/|usr/sbin/start-stop-daemon$|"
    r"usr/sbin/update-grub$|etc/systemd/system/[^/]+\.wants/)"
)


def build(host: Host) -> tuple[FileMap, str]:
    tree = render.rootfs(host)
    f = preseed.render(host, tree)[preseed.PRESEED]
    assert f.mode == 0o600
    return tree, f.content.decode()


def meant(host: Host) -> dict[str, str]:
    """What cloudbr means each question to hold (the late_command is checked on its own)."""
    m = preseed.mirror(host)
    out = {a.question: a.value for a in preseed.network_answers(host)}
    out |= {
        "mirror/protocol": m.protocol,
        f"mirror/{m.protocol}/hostname": m.hostname,
        f"mirror/{m.protocol}/directory": m.directory,
        "mirror/suite": platform(host).installer.dialect,
        "pkgsel/include": " ".join(preseed.packages(host)),
        "passwd/root-password-crypted": host.access.root_password_hash or "!",
        "netcfg/get_hostname": host.hostname,
    }
    return out


def check_late_command(host: Host, tree: FileMap, value: str) -> None:
    """The late_command as d-i read it: each base64 word intact, decoding to the script."""
    words = shlex.split(value)
    assert words[:2] == ["printf", "%s\\n"], value[:200]
    end = words.index(">")
    payload = words[2:end]
    word = re.compile(rf"[A-Za-z0-9+/=]{{1,{preseed.B64_WIDTH}}}")
    assert all(word.fullmatch(w) for w in payload), payload
    assert gzip.decompress(base64.b64decode("".join(payload))).decode() == preseed.late_script(
        host, tree
    )
    assert words[end + 1 : end + 3] == [f"/target{preseed.LATE_B64}", "&&"]
    rest = words[end + 3 :]
    if preseed.shared(tree):  # the shared programs, from the installer's RAM into the target
        cp = ["cp", "-r", preseed.SHARED_DIR, f"/target{preseed.SHARED_IN_TARGET}", "&&"]
        assert rest[:5] == cp
        rest = rest[5:]
    assert rest[:2] == ["in-target", "sh"]
    assert "http" not in value  # fetches nothing


def check_early_command(tree: FileMap, value: str | None) -> None:
    """Each shared program by name and sha256 (its bytes are not in the preseed); what the
    command does is proven by running it (the late_command tests below)."""
    progs = preseed.shared(tree)
    if not progs:
        assert not value
        return
    assert value is not None
    for path, f in progs.items():
        name = path.rsplit("/", 1)[-1]
        assert f"make_absolute_url {name} " in value
        assert f'!= "{hashlib.sha256(f.content).hexdigest()}  -" ]' in value
    assert len(value) < 2048  # names and digests only


def check_answers(host: Host, tree: FileMap, got: Installed) -> None:
    assert got.set_status == 0
    answers = dict(got.answers)
    check_late_command(host, tree, answers.pop("preseed/late_command"))
    check_early_command(tree, answers.pop("preseed/early_command", None))
    assert answers == meant(host)


# The hosts whose late_command runs below are read back there.
@pytest.mark.parametrize("name", sorted(set(PRESEED_HOSTS) - set(LATE_HOSTS)))
def test_installer_reads_what_cloudbr_meant(name: str, tmp_path: Path) -> None:
    host = PRESEED_HOSTS[name]
    tree, text = build(host)
    questions = [*meant(host), "preseed/late_command", "preseed/early_command"]
    got = run_installer(text, questions, tmp_path)
    check_answers(host, tree, got)


def test_wrong_parser_model_would_have_hidden_the_spaces(tmp_path: Path) -> None:
    """The old carrier quoted one base64 word over continued lines: d-i puts a space in it."""
    text = "d-i preseed/late_command string \\\n  printf '%s' 'QUJD\\\n  REVG'\n"
    got = run_installer(text, ["preseed/late_command"], tmp_path)
    assert got.answers["preseed/late_command"] == "printf '%s' 'QUJD REVG'"


# Where the harness's installer reads the preseed, as d-i's file-preseed records it.
PRESEED_FILE = {"preseed/file": "file:///cloudbr/preseed.cfg"}


def install(
    host: Host,
    tmp_path: Path,
    text: str | None = None,
    beside: dict[str, bytes] | None = None,
    location: dict[str, str] | None = None,
    **files: bytes,
) -> Installed:
    """The preseed read, its early_command and late_command run. The shared programs sit
    beside it (OUT/_preseed/'s files) unless `beside` says otherwise."""
    tree, own = build(host)
    target = {UPDATE_GRUB: RECORDER, DI_NETPLAN: b"network: {}\n", **files}
    questions = [*meant(host), "preseed/late_command", "preseed/early_command"]
    if beside is None:
        beside = {n: f.content for n, f in preseed.site_files([host]).items()}
    return run_installer(
        text or own,
        questions,
        tmp_path,
        target_files=target,
        late=True,
        env2debconf=location or PRESEED_FILE,
        beside=beside,
        units=embed.units_to_enable(tree),
    )


def regular_files(root: Path) -> dict[str, Path]:
    return {"/" + str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", LATE_HOSTS)
def test_late_command_installs_exactly_the_tree(name: str, tmp_path: Path) -> None:
    host = PRESEED_HOSTS[name]
    tree, _ = build(host)
    got = install(host, tmp_path)
    check_answers(host, tree, got)
    assert got.late_status == 0, got.late_output
    expected = preseed.carried_files(host, tree)
    written = regular_files(got.target_changes)
    ours = {p for p in written if not INSTALLER_BOOKKEEPING.match(p)}
    assert ours == set(expected)  # nothing else, and no payload or script left behind
    for path, f in expected.items():
        assert written[path].read_bytes() == f.content, path
        assert stat.S_IMODE(written[path].stat().st_mode) == f.mode, path
    if host.access.ssh_authorized_keys:
        assert stat.S_IMODE((got.target_changes / "root/.ssh").stat().st_mode) == 0o700
    # d-i's netplan file (placed in the overlay's upper dir before the install) is gone.
    assert not os.path.lexists(got.target_changes / DI_NETPLAN.lstrip("/"))
    units = embed.units_to_enable(tree)
    assert got.unit_states == {unit: "enabled" for unit in units}
    assert (ovs_firstboot.UNIT in units) == (host.backend is Backend.OVS)
    grub_calls = (
        (got.target_changes / GRUB_LOG).read_text().splitlines()
        if (got.target_changes / GRUB_LOG).exists()
        else []
    )
    assert grub_calls == (["update-grub "] if debian_extras.GRUB_DROPIN in tree else [])


def _payload_lines(lines: list[str]) -> list[int]:
    full = rf"  [A-Za-z0-9+/=]{{{preseed.B64_WIDTH}}} \\"
    return [i for i, line in enumerate(lines) if re.fullmatch(full, line)]


def _corrupt(text: str) -> str:
    """Flip one character in the middle of the payload's base64 words."""
    lines = text.split("\n")
    i = _payload_lines(lines)[len(_payload_lines(lines)) // 2]
    c = lines[i][10]
    lines[i] = lines[i][:10] + ("B" if c == "A" else "A") + lines[i][11:]
    return "\n".join(lines)


def _truncate(text: str) -> str:
    """Drop one line of the payload."""
    lines = text.split("\n")
    del lines[_payload_lines(lines)[len(_payload_lines(lines)) // 2]]
    return "\n".join(lines)


def own_commands(host: Host) -> str:
    """The host's early_command and late_command entries, verbatim: what the failure tests
    below run (the other answers are proven by the tests above)."""
    text = entries(build(host)[1], ["preseed/early_command", "preseed/late_command"])
    assert "d-i preseed/late_command string" in text
    return text


@pytest.mark.parametrize("damage", [_corrupt, _truncate])
def test_a_broken_payload_fails_the_install(damage: Callable[[str], str], tmp_path: Path) -> None:
    host = PRESEED_HOSTS["ubuntu1804-ovs"]
    whole = own_commands(host)
    text = damage(whole)
    assert text != whole
    got = install(host, tmp_path, text)
    assert got.late_status not in (None, 0)
    # Nothing of the tree was laid down.
    assert "/etc/network/interfaces" not in regular_files(got.target_changes)


def test_a_failing_step_fails_the_install(tmp_path: Path) -> None:
    """update-grub is the late script's last step: its failure is the late_command's."""
    host = PRESEED_HOSTS["debian12-bridge"]
    assert debian_extras.GRUB_DROPIN in render.rootfs(host)
    got = install(host, tmp_path, own_commands(host), **{UPDATE_GRUB: b"#!/bin/sh\nexit 7\n"})
    assert got.late_status == 7


# A topology far larger than any CloudStack host: 24 NICs, 12 bonds, 12 bridges, 200 VLANs,
# 40 SSH keys.
def large_inventory(backend: str) -> str:
    nics = "".join(f"      - {{name: eth{i}}}\n" for i in range(24))
    bonds = "".join(
        f"      - {{name: bond{i}, members: [eth{2 * i}, eth{2 * i + 1}]}}\n" for i in range(12)
    )
    bridges = "".join(f"      - {{name: cloudbr{i}, uplink: bond{i}}}\n" for i in range(12))
    vlans = "".join(
        f"      - {{id: {v}, parent: bond{v % 12}, bridge: br{v}, addresses: [10.{v}.0.7/24]}}\n"
        for v in range(2, 202)
    )
    keys = "".join(f'    - "{keys_like.ed25519(i, f"k{i}")}"\n' for i in range(40))
    return f"""\
site:
  domain: example.net
  distro: ubuntu1804
  backend: {backend}
  dns: {{servers: [10.1.0.53]}}
  access:
    ssh_authorized_keys:
{keys}  topology:
    nics:
{nics}    bonds:
{bonds}    bridges:
{bridges}    vlans:
{vlans}  traffic_labels: {{management: cloudbr0, guest: cloudbr0, public: cloudbr1}}
hosts:
  - hostname: big
    address: 10.1.0.7/24
    gateway: 10.1.0.1
"""


@pytest.mark.parametrize("backend", ["ovs", "linuxbridge"])
def test_late_command_stays_far_below_the_argument_limit(backend: str) -> None:
    host = parse_inventory(large_inventory(backend), "big.yaml").hosts[0]
    tree, _text = build(host)
    command = preseed.late_command(preseed.late_script(host, tree))
    assert len(preseed.late_script(host, tree)) > 60_000  # several times the reference host
    # d-i hands the joined value to `sh -c`: one argument, MAX_ARG_STRLEN = 128 KiB.
    assert len(command.encode()) < preseed.ARG_LIMIT // 2, len(command)


@pytest.mark.parametrize("name", ["debian12-ovs", "variant-bridge"])
def test_boot_parameters_carry_the_install_network(name: str, tmp_path: Path) -> None:
    """As d-i's env2debconf reads them: the kernel hands `a/b=value` to init's environment
    (linux lib/cmdline.c next_arg removes the double quotes)."""
    host = PRESEED_HOSTS[name]
    params = preseed.boot_parameters(host)
    env = dict(p.split("=", 1) for p in shlex.split(" ".join(params)))
    assert all(not p.startswith("netcfg/do_not_use") for p in params)
    wanted = {a.question: a.value for a in preseed.network_answers(host) if a.value}
    got = run_installer("", list(wanted), tmp_path, env2debconf=env)
    assert got.answers == wanted


def test_installed_systems_get_no_installer_parameters() -> None:
    for host in PRESEED_HOSTS.values():
        dropin = render.rootfs(host).get(debian_extras.GRUB_DROPIN)
        assert dropin is None or b"netcfg/" not in dropin.content
    # The question stays where it belongs: in the installer's answers (Ubuntu OVS only).
    text = build(PRESEED_HOSTS["ubuntu1804-ovs"])[1]
    assert "d-i netcfg/do_not_use_netplan boolean true" in text.splitlines()
    host = PRESEED_HOSTS["ubuntu1804-ovs"]
    assert preseed.purged_packages(host) == ["netplan.io"]
    assert host.distro is Distro.UBUNTU1804


def test_default_and_custom_mirror() -> None:
    m = preseed.mirror(HOSTS["debian12-ovs"])
    assert (m.hostname, m.directory) == ("deb.debian.org", "/debian")
    text = (Path(__file__).parents[1] / "examples/seed-ubuntu1804-ovs.yaml").read_text()
    text += "    installer:\n      mirror: https://mirror.example.net:8443/pub/ubuntu/\n"
    m = preseed.mirror(parse_inventory(text, "x.yaml").hosts[0])
    assert m == preseed.Mirror("https", "mirror.example.net:8443", "/pub/ubuntu")


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[str]:
    """An HTTP server for `root` on 127.0.0.1 (the installer's chroot shares this network)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_early_command_fetches_the_program_beside_a_network_preseed(tmp_path: Path) -> None:
    """As PXE installs: url= set preseed/url; d-i's preseed_fetch (its wget) gets the program
    from the preseed's own directory, the same name nginx serves there."""
    host = PRESEED_HOSTS["debian12-ovs"]
    tree, _ = build(host)
    served = tmp_path / "www" / "tok" / host.hostname
    served.mkdir(parents=True)
    for name, f in preseed.site_files([host]).items():
        (served / name).write_bytes(f.content)
    with http_server(tmp_path / "www") as base:
        url = {"preseed/url": f"{base}/tok/{host.hostname}/preseed.cfg"}
        got = install(host, tmp_path / "run", own_commands(host), beside={}, location=url)
    assert got.late_status == 0, got.late_output
    written = regular_files(got.target_changes)
    for path, f in preseed.shared(tree).items():
        assert written[path].read_bytes() == f.content
        assert stat.S_IMODE(written[path].stat().st_mode) == f.mode


@pytest.mark.parametrize("beside", ["missing", "different"])
def test_a_missing_or_different_program_fails_the_early_command(
    beside: str, tmp_path: Path
) -> None:
    host = PRESEED_HOSTS["debian12-ovs"]
    ((name, f),) = preseed.site_files([host]).items()
    files = {} if beside == "missing" else {name: f.content + b"# one more line\n"}
    got = install(host, tmp_path, own_commands(host), beside=files)
    assert got.late_status == 1  # the early_command's status: the late_command never ran
    assert not regular_files(got.target_changes).keys() - {UPDATE_GRUB, DI_NETPLAN}


def test_early_command_passes_shellcheck() -> None:
    command = preseed.early_command(build(PRESEED_HOSTS["debian12-ovs"])[0])
    # d-i's busybox sh runs it with `sh -c`; preseed.sh's functions are d-i's.
    res = subprocess.run(
        ["shellcheck", "-s", "sh", "-e", "SC1091", "-"],
        input=command + "\n",
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout


def _rsa4096_like(n: int) -> str:
    """An OpenSSH RSA-4096 public key line's size and entropy (716 base64 characters)."""
    return keys_like.rsa(n, 4096, f"ops{n}@mylab.local")


@pytest.mark.parametrize("keys", [21, 23])
def test_ssh_keys_a_preseed_can_carry_render_and_more_are_refused_by_check(
    tmp_path: Path, keys: int
) -> None:
    """The late_command is one `sh -c` argument: `check` holds the keys to a size that the
    largest preseed tree (OVS) still renders with, instead of render failing (exit 3)."""
    lab = (REPO / "examples" / "lab.yaml").read_text()
    head, rest = lab.split("    ssh_authorized_keys:\n", 1)
    rest = rest.split("\n", 2)[2]  # the lab's one key, then the rest of the site
    listed = "".join(f"      - {_rsa4096_like(n)}\n" for n in range(keys))
    inv = tmp_path / "keys.yaml"
    inv.write_text(head + "    ssh_authorized_keys:\n" + listed + rest)
    out = tmp_path / "out"
    code = cli.main(["render", str(inv), "-o", str(out), "-q", "--host", "kvm-d12-ovs"])
    size = sum(len(_rsa4096_like(n)) + 1 for n in range(keys))
    assert code == (0 if size <= rules.PRESEED_KEYS_MAX else 1)
    if code == 0:
        assert (out / "kvm-d12-ovs" / "preseed.cfg").read_text().count("ops0@") == 0  # packed


def _hosts_with_one_too_large(vlans: int) -> str:
    """70 Debian 12 hosts (two render workers); the 41st has `vlans` VLAN bridges."""
    topology = (
        "    topology:\n"
        "      nics: [{name: eth0}, {name: eth1}, {name: eth2}, {name: eth3}]\n"
        "      bonds:\n"
        "        - {name: bond0, members: [eth0, eth1]}\n"
        "        - {name: bond1, members: [eth2, eth3]}\n"
        "      bridges:\n"
        "        - {name: cloudbr0, uplink: bond0, addresses: [192.0.2.40/24]}\n"
        "        - {name: cloudbr1, uplink: bond1}\n"
        "      vlans:\n"
    ) + "".join(
        f"        - {{id: {i}, parent: bond1, bridge: br{i}}}\n" for i in range(2, 2 + vlans)
    )
    hosts = [
        f"  - hostname: h{n:02d}\n"
        + (topology if n == 40 else f"    address: 192.0.2.{n + 100}/24\n")
        for n in range(70)
    ]
    return "site: {domain: lab.example, distro: debian12}\nhosts:\n" + "".join(hosts)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_tree_too_large_for_the_late_command_is_refused_at_its_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    """No inventory rule can know the size of the gzip'd tree: render finds it, and reports it
    as a problem of that host (exit 1, nothing written), not as an internal error (exit 3)."""
    inv = tmp_path / "big.yaml"
    inv.write_text(_hosts_with_one_too_large(900))
    assert cli.main(["check", str(inv)]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    assert cli.main(["render", str(inv), "-o", str(out), "-q", "-j", jobs]) == 1
    line = inv.read_text().splitlines().index("  - hostname: h40") + 1
    assert capsys.readouterr().err.splitlines() == [
        f"{inv}:{line}:5: hosts[40]: its tree is too large for a preseed: debian-installer runs "
        "the late_command that lays it down as one `sh -c` argument, kept under 64 KiB here "
        "(the kernel's limit is 128 KiB); give this host fewer VLANs, bridges or addresses",
        "cloudbr: 1 problem; nothing written",
    ]
    assert list(out.iterdir()) == []
    # `diff` renders the same trees: the same problem, not an internal error
    assert cli.main(["diff", str(inv), "-o", str(out)]) == 1
    assert (
        capsys.readouterr().err.splitlines()[0].startswith(f"{inv}:{line}:5: hosts[40]: its tree")
    )


def test_the_install_address_is_the_bridges_ipv4_wherever_it_is_listed() -> None:
    """netcfg gets the IPv4 address the PXE entry's url= and dnsmasq use, not an IPv6 one
    listed before it (d-i would then fetch its preseed from an address it does not have)."""
    text = """\
site: {domain: lab.test, distro: debian12, ipv6: true}
hosts:
  - hostname: v6first
    traffic_labels: {management: cloudbr0, guest: cloudbr0, public: cloudbr0, storage: cloudbr0}
    topology:
      nics: [{name: eth0}]
      bonds: []
      bridges:
        - {name: cloudbr0, uplink: eth0, addresses: [2001:db8::21/64, 10.1.0.21/24], gateway: 10.1.0.1}
"""
    host = parse_inventory(text, "v6first.yaml").hosts[0]
    answers = {a.question: a.value for a in preseed.network_answers(host)}
    assert answers["netcfg/get_ipaddress"] == "10.1.0.21"
    assert answers["netcfg/get_netmask"] == "255.255.255.0"
    assert answers["netcfg/get_gateway"] == "10.1.0.1"
