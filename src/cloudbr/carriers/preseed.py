"""debian-installer preseed (platforms whose installer is InstallerCarrier.PRESEED: Ubuntu
18.04, Debian 12): an unattended install that ends with
the host's tree laid down exactly, by a late_command that fetches nothing.

d-i cannot build bonds or bridges, so the install runs on one NIC with the host's static
address (the bond's primary member, else its first); the installed system's own network
files replace that configuration.

Install-time network and the preseeding mode: netcfg configures the network before a file
fetched with `url=` (network preseeding) is read, so the static answers in such a file come
too late. They work when the preseed is read before netcfg runs: from the initrd
(`preseed.cfg` at its root) or with `file=` on the installer's own media. For `url=`, put
`boot_parameters(host)` on the installer's kernel command line.

The late_command carries a script (`late_script`), gzip'd and base64'd, as many short words.
debian-installer's own `debconf-set-selections` (package `preseed`, a shell script; not the
Perl tool of an installed system) strips each continued line's leading whitespace and joins it
to the previous one with one space, so a continued word gains spaces: each base64 line is
therefore its own word, and `printf '%s\\n'` puts each on its own line, which `base64 -d`
reads. The words are written into the target and decoded there with `in-target`, where
coreutils' base64 and gzip exist (d-i's busybox may lack them). d-i runs the late_command with
`sh -c`, so the whole command is one argument under the kernel's 128 KiB limit
(MAX_ARG_STRLEN): gzip keeps even large trees far below it. The late_command's exit status is
the late script's, so a corrupt payload or a failing step fails the install.

The shared programs (the OVS first-boot program: the same bytes on every host) are not in the
preseed: they are written once per output, to OUT/_preseed/ (`site_files`; no hostname has a
'_'), and must sit beside the preseed wherever it is read from (PXE: nginx serves them at each
host's document URL; initrd or media: copy them next to preseed.cfg). The early_command fetches
each with d-i's `preseed_fetch`, relative to the preseed's own location (preseed/url, else
preseed/file, else the initrd's file:///preseed.cfg; d-i's make_absolute_url resolves the
name: preseed_fetch alone would resolve it only after a preseed/include or preseed/run), and
checks its sha256 against the one recorded here: a missing or different program fails the
early_command, which d-i reports as a critical error before anything is partitioned.

The script takes the target root as its first argument (default /): it runs its commands
through `chroot` only when that root is not /, so it can be run against a scratch directory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloudbr import templates
from cloudbr.carriers import embed, packed
from cloudbr.files import SAME_ON_EVERY_HOST, SECRET, File, FileMap, Role, Unrenderable
from cloudbr.memo import ByIdentity
from cloudbr.model import Backend, Host
from cloudbr.platform_types import InstallerCarrier
from cloudbr.platforms import platform
from cloudbr.render import ovs_firstboot
from cloudbr.topology import install_nic

NAME = "preseed"
PRESEED = "preseed.cfg"
TEMPLATE = "autoinstall/preseed.cfg.j2"

AUTHORIZED_KEYS = embed.AUTHORIZED_KEYS
LATE_SCRIPT = "/root/cloudbr-late.sh"
LATE_B64 = "/root/cloudbr-late.b64"
# The shared programs: fetched by the early_command into the installer's RAM, copied into the
# target by the late_command, installed by the late script.
SITE_DIR = "_preseed"  # OUT/_preseed/: each shared program once per output
SHARED_DIR = "/tmp/cloudbr-shared"
SHARED_IN_TARGET = "/root/cloudbr-shared"
# Width of the base64 words in the preseed, one per continued line: d-i's parser forks a few
# processes per line, so few long lines load fast.
B64_WIDTH = 1024
# d-i passes the late_command to `sh -c` as one argument: the kernel's MAX_ARG_STRLEN.
ARG_LIMIT = packed.ARG_MAX_STRLEN


@dataclass(frozen=True)
class Mirror:
    protocol: str
    hostname: str  # host[:port]
    directory: str


def mirror(host: Host) -> Mirror:
    url = host.installer.mirror or platform(host).installer.mirror
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp") or not parts.netloc:
        raise ValueError(f"installer.mirror {url!r}: debian-installer needs an http(s) or ftp URL")
    return Mirror(parts.scheme, parts.netloc, parts.path.rstrip("/") or "/")


@dataclass(frozen=True)
class Answer:
    question: str  # owner d-i
    type: str
    value: str


def network_answers(host: Host) -> list[Answer]:
    """netcfg's answers for the static install-time network, in the preseed's order."""
    address = host.primary_address
    if address is None:
        raise ValueError(f"{host.hostname}: no management address to install with")
    bridge = host.primary_bridge
    nic = install_nic(host)
    out = [Answer("netcfg/choose_interface", "select", nic or "auto")]
    if bridge.vlan:
        out += [
            Answer("netcfg/use_vlan", "boolean", "true"),
            Answer("netcfg/vlan_id", "string", str(bridge.vlan.id)),
        ]
    out.append(Answer("netcfg/disable_autoconfig", "boolean", "true"))
    if isinstance(address, ipaddress.IPv4Interface):
        gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None = bridge.gateway4
        out += [
            Answer("netcfg/get_ipaddress", "string", str(address.ip)),
            Answer("netcfg/get_netmask", "string", str(address.netmask)),
        ]
    else:
        gateway = bridge.gateway6
        out.append(Answer("netcfg/get_ipaddress", "string", str(address)))
    gateway = gateway or host.gateway4
    if gateway:
        out.append(Answer("netcfg/get_gateway", "string", str(gateway)))
    else:
        out += [
            Answer("netcfg/get_gateway", "string", "none"),
            Answer("netcfg/no_default_route", "boolean", "true"),
        ]
    out += [
        Answer("netcfg/get_nameservers", "string", " ".join(str(s) for s in host.dns.servers)),
        Answer("netcfg/confirm_static", "boolean", "true"),
        Answer("netcfg/get_hostname", "string", host.hostname),
        Answer("netcfg/get_domain", "string", host.domain or ""),
    ]
    return out


def boot_parameters(host: Host) -> list[str]:
    """The static install network as kernel command-line parameters, for network preseeding
    (`url=`), where netcfg runs before the preseed file is fetched. d-i's env2debconf turns
    each `question=value` into an answer; a value with spaces is double-quoted (the kernel
    removes the quotes). Empty values are left out: env2debconf ignores them."""
    out = []
    for a in network_answers(host):
        if a.value:
            value = f'"{a.value}"' if " " in a.value else a.value
            out.append(f"{a.question}={value}")
    return out


def packages(host: Host) -> list[str]:
    return list(platform(host).packages(host.backend))


def purged_packages(host: Host) -> list[str]:
    return list(platform(host).purge(host.backend))


def carried_files(host: Host, tree: FileMap) -> FileMap:
    """The tree plus root's SSH keys (d-i has no question for them)."""
    return embed.with_root_keys(tree, host.access.ssh_authorized_keys, NAME)


LATE_PRELUDE = """\
#!/bin/sh
# cloudbr late_command for {fqdn}: lay the host's tree down in the installed system.
set -eu
cloudbr_target=${{1:-/}}
# Commands of the installed system: chroot only when the root is not the running one.
cloudbr_in_target() {{
    if [ "$cloudbr_target" = / ]; then "$@"; else chroot "$cloudbr_target" "$@"; fi
}}
export DEBIAN_FRONTEND=noninteractive
"""


def late_script(host: Host, tree: FileMap) -> str:
    return "".join(late_parts(host, tree))


def late_parts(host: Host, tree: FileMap) -> tuple[str, str, str]:
    """The late script in three parts; the middle one installs the programs every host carries
    (Role.PROGRAM: the same text on every host), so its compressed form is made once."""
    parts = [LATE_PRELUDE.format(fqdn=host.fqdn)]
    parts.append(
        "# The installer's own network files would configure the NICs a second time.\n"
        'rm -f -- "${cloudbr_target%/}"/etc/netplan/*.yaml\n'
    )
    purge = purged_packages(host)
    if purge:
        parts.append(
            "# Open vSwitch is configured by ifupdown: netplan must not own the NICs.\n"
            "cloudbr_in_target apt-get -y purge " + " ".join(map(shlex.quote, purge)) + "\n"
        )
    keys = host.access.ssh_authorized_keys
    dir_modes = embed.SSH_DIR_MODES if keys else {}
    carried = carried_files(host, tree)
    own = {p: f for p, f in carried.items() if f.role not in SAME_ON_EVERY_HOST}
    parts.append(embed.install_script(own, root="/", dir_modes=dir_modes))
    programs = {p: f for p, f in carried.items() if f.role is Role.PROGRAM}
    static = embed.put_lines(programs)  # the head's install script defined the functions
    head, parts = "".join(parts), []
    parts += [_install_shared(p, f.mode) for p, f in sorted(shared(tree).items())]
    if shared(tree):
        parts.append(f'rm -rf -- "${{cloudbr_target%/}}"{SHARED_IN_TARGET}\n')
    units = embed.units_to_enable(tree)
    if units:
        parts.append(
            "cloudbr_in_target systemctl enable " + " ".join(map(shlex.quote, units)) + "\n"
        )
    for path in sorted(p for p, f in tree.items() if f.role is Role.BOOT_ARGUMENTS):
        parts.append("# Kernel command line from " + path + "\n")
    if any(f.role is Role.BOOT_ARGUMENTS for f in tree.values()):
        parts.append("cloudbr_in_target update-grub\n")
    return head, static, "".join(parts)


# Run in the target: decode and unpack the script (gzip checks its CRC, so a corrupt or
# cut payload stops here), remove the payload, run the script, remove it, keep its status.
_RUN_IN_TARGET = (
    f"base64 -d {LATE_B64} > {LATE_SCRIPT}.gz && rm -f {LATE_B64} && "
    f"gunzip -f {LATE_SCRIPT}.gz && {{ sh {LATE_SCRIPT}; rc=$?; rm -f {LATE_SCRIPT}; exit $rc; }}"
)


def shared(tree: FileMap) -> FileMap:
    return {p: f for p, f in tree.items() if f.role is Role.SHARED_PROGRAM}


def _shared_name(path: str) -> str:
    """The program's name beside the preseed (and in OUT/_preseed/)."""
    return path.rsplit("/", 1)[-1]


def site_files(hosts: Iterable[Host]) -> FileMap:
    """OUT/_preseed/ (names relative to it): the shared programs of the preseed hosts' trees,
    once; empty when no preseed host has any."""
    for host in hosts:
        if platform(host).installer.carrier is InstallerCarrier.PRESEED:
            progs = shared(ovs_firstboot.render(host)) if host.backend is Backend.OVS else {}
            if progs:  # the same bytes for every host: the first one's are everyone's
                return {_shared_name(p): f for p, f in progs.items()}
    return {}


def _install_shared(path: str, mode: int) -> str:
    src = shlex.quote(f"{SHARED_IN_TARGET}/{_shared_name(path)}")
    dst = shlex.quote(path)
    return (
        f'cloudbr_t="${{cloudbr_target%/}}"; mkdir -p "$cloudbr_t"$(dirname {dst})\n'
        f'cp -- "$cloudbr_t"{src} "$cloudbr_t"{dst}.cloudbr-new\n'
        f'chmod {mode:04o} "$cloudbr_t"{dst}.cloudbr-new && '
        f'mv -f "$cloudbr_t"{dst}.cloudbr-new "$cloudbr_t"{dst}\n'
    )


def _payload(parts: Sequence[str]) -> list[str]:
    """The parts (one, or head, programs and rest) as gzip members, base64'd, as continued
    short words."""
    own, programs, rest = (*parts, "", "")[:3]
    return [f"  {w}" for w in embed.chunks(packed.b64_members(own, programs, rest), B64_WIDTH)]


class TooLong(ValueError):
    """The late_command would not leave the room kept under ARG_LIMIT."""


def _checked(command: str, what: str) -> str:
    if len(command.encode()) >= ARG_LIMIT // 2:
        raise TooLong(f"{what} of {len(command)} bytes is too close to {ARG_LIMIT}")
    return command


# Run by d-i's preseed_command (`sh -c`, busybox) right after it loaded the preseed: the
# preseed's own location, d-i's resolution of a name beside it, its fetch, then the check.
_FETCH_PRELUDE = (
    "cloudbr_at=$(debconf-get preseed/url); "
    '[ -n "$cloudbr_at" ] || cloudbr_at=$(debconf-get preseed/file); '
    '[ -n "$cloudbr_at" ] || cloudbr_at=file:///preseed.cfg; '
    f". /lib/preseed/preseed.sh; mkdir -p {SHARED_DIR}"
)
_FETCH = (
    "; cloudbr_f={dst}; "
    'if ! preseed_fetch "$(make_absolute_url {name} "$cloudbr_at")" "$cloudbr_f" || '
    '[ "$(sha256sum < "$cloudbr_f")" != "{sha}  -" ]; then '
    'echo "cloudbr: {name} (sha256 {sha}) missing or different beside $cloudbr_at" >&2; '
    'rm -f "$cloudbr_f"; exit 1; fi'
)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_digest = ByIdentity(_sha256)  # the program every OVS host carries, hashed once


def early_command(tree: FileMap) -> str:
    """preseed/early_command: fetch the shared programs and check them ('' if none)."""
    progs = shared(tree)
    if not progs:
        return ""
    parts = [_FETCH_PRELUDE]
    for path, f in sorted(progs.items()):
        name = _shared_name(path)
        dst = shlex.quote(f"{SHARED_DIR}/{name}")
        parts.append(_FETCH.format(dst=dst, name=shlex.quote(name), sha=_digest(f.content)))
    return "".join(parts)


def late_command(script: str | Sequence[str], *, with_shared: bool = False) -> str:
    """The late_command value for the preseed file: one base64 word per continued line (each
    indented, so either parser, joining with or without a space, keeps them apart)."""
    parts = (script,) if isinstance(script, str) else script
    lines = ["", "  printf '%s\\n'", *_payload(parts)]
    lines.append(f"  > /target{LATE_B64} &&")
    if with_shared:
        lines.append(f"  cp -r {SHARED_DIR} /target{SHARED_IN_TARGET} &&")
    lines.append(f"  in-target sh -c {shlex.quote(_RUN_IN_TARGET)}")
    return _checked(" \\\n".join(lines), "late_command")


def document(host: Host, tree: FileMap) -> str:
    try:
        late = late_command(late_parts(host, tree), with_shared=bool(shared(tree)))
    except TooLong:
        raise Unrenderable(
            host.hostname,
            f"its tree is too large for a preseed: debian-installer runs the late_command "
            f"that lays it down as one `sh -c` argument, kept under {ARG_LIMIT // 2 >> 10} KiB "
            "here (the kernel's limit is 128 KiB); give this host fewer VLANs, bridges or "
            "addresses",
        ) from None
    return templates.render(
        TEMPLATE,
        host=host,
        suite=platform(host).installer.dialect,
        mirror=mirror(host),
        network=network_answers(host),
        packages=" ".join(packages(host)),
        ubuntu=platform(host).installer.ubuntu_archive,
        no_netplan=bool(purged_packages(host)),
        early_command=early_command(tree),
        late_command=late,
    )


def render(host: Host, tree: FileMap) -> FileMap:
    # Mode 0600: it may carry a password hash and, in the late script, keys.
    return {
        PRESEED: File.text(document(host, tree), mode=SECRET, renderer=NAME, role=Role.ARTIFACT)
    }
