"""debian-installer preseed (Ubuntu 18.04, Debian 12): an unattended install that ends with
the host's tree laid down exactly, by a late_command that fetches nothing.

d-i cannot build bonds or bridges, so the install runs on one NIC with the host's static
address (the bond's primary member, else its first); the installed system's own network
files replace that configuration.

The late_command carries a script (`late_script`) as one base64 word, writes it into the
target and runs it there with `in-target`, where coreutils' base64 exists (d-i's busybox may
lack it). The script takes the target root as its first argument (default /): it runs its
commands through `chroot` only when that root is not /, so it can be run against a scratch
directory.
"""

from __future__ import annotations

import base64
import ipaddress
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloudbr import templates
from cloudbr.carriers import embed
from cloudbr.files import SECRET, File, FileMap
from cloudbr.model import Backend, Distro, Host
from cloudbr.render import debian_extras

NAME = "preseed"
PRESEED = "preseed.cfg"
TEMPLATE = "autoinstall/preseed.cfg.j2"

AUTHORIZED_KEYS = embed.AUTHORIZED_KEYS
LATE_SCRIPT = "/root/cloudbr-late.sh"
LATE_B64 = "/root/cloudbr-late.b64"
# Width of the base64 lines in the preseed; debconf joins lines that end in a backslash.
B64_WIDTH = 96


@dataclass(frozen=True)
class Release:
    codename: str
    mirror: str


RELEASES: dict[Distro, Release] = {
    Distro.UBUNTU1804: Release("bionic", "http://archive.ubuntu.com/ubuntu"),
    Distro.DEBIAN12: Release("bookworm", "http://deb.debian.org/debian"),
}


@dataclass(frozen=True)
class Mirror:
    protocol: str
    hostname: str  # host[:port]
    directory: str


def mirror(host: Host) -> Mirror:
    url = host.installer.mirror or RELEASES[host.distro].mirror
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp") or not parts.netloc:
        raise ValueError(f"installer.mirror {url!r}: debian-installer needs an http(s) or ftp URL")
    return Mirror(parts.scheme, parts.netloc, parts.path.rstrip("/") or "/")


def install_nic(host: Host) -> str | None:
    """The NIC d-i configures: the management bridge's uplink, or a member of its bond."""
    bridge = host.primary_bridge
    device = bridge.vlan.device if bridge.vlan else bridge.uplink
    if device is None:
        return None
    bond = next((b for b in host.bonds if b.name == device), None)
    if bond is None:
        return device
    return bond.primary or bond.members[0]


def packages(host: Host) -> list[str]:
    pkgs = ["openssh-server"]
    if host.backend is Backend.OVS:
        pkgs += ["ifupdown", "openvswitch-switch"]
    elif host.distro is Distro.UBUNTU1804:
        # networkd builds the bonds and bridges from netplan; brctl is for the operator.
        pkgs += ["bridge-utils"]
    else:
        pkgs += ["ifupdown", "ifenslave", "bridge-utils"]
    if host.distro is Distro.DEBIAN12:
        # Debian's ifupdown hands dns-nameservers/dns-search to resolvconf only.
        pkgs.append("resolvconf")
    return pkgs


def purged_packages(host: Host) -> list[str]:
    if host.distro is Distro.UBUNTU1804 and host.backend is Backend.OVS:
        return ["netplan.io", "nplan"]
    return []


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
    parts.append(embed.install_script(carried_files(host, tree), root="/", dir_modes=dir_modes))
    units = embed.units_to_enable(tree)
    if units:
        parts.append(
            "cloudbr_in_target systemctl enable " + " ".join(map(shlex.quote, units)) + "\n"
        )
    if debian_extras.GRUB_DROPIN in tree:
        parts.append("# Kernel command line from " + debian_extras.GRUB_DROPIN + "\n")
        parts.append("cloudbr_in_target update-grub\n")
    return "".join(parts)


def late_command(script: str) -> str:
    """The late_command value, wrapped for the preseed file (debconf joins `\\` lines)."""
    payload = base64.b64encode(script.encode("utf-8")).decode("ascii")
    wrapped = "\\\n".join(embed.chunks(payload, B64_WIDTH))
    return (
        "\\\n"
        f"printf '%s\\n' '{wrapped}'\\\n"
        f" > /target{LATE_B64};\\\n"
        f" in-target sh -c 'base64 -d {LATE_B64} > {LATE_SCRIPT}';\\\n"
        f" in-target sh {LATE_SCRIPT};\\\n"
        f" rm -f /target{LATE_B64} /target{LATE_SCRIPT}"
    )


def document(host: Host, tree: FileMap) -> str:
    address = host.primary_address
    bridge = host.primary_bridge
    gateway = bridge.gateway4 if isinstance(address, ipaddress.IPv4Interface) else bridge.gateway6
    return templates.render(
        TEMPLATE,
        host=host,
        release=RELEASES[host.distro],
        mirror=mirror(host),
        nic=install_nic(host),
        vlan=bridge.vlan,
        address=address,
        gateway=gateway or host.gateway4,
        nameservers=" ".join(str(s) for s in host.dns.servers),
        packages=" ".join(packages(host)),
        ubuntu=host.distro.is_ubuntu,
        no_netplan=bool(purged_packages(host)),
        late_command=late_command(late_script(host, tree)),
    )


def render(host: Host, tree: FileMap) -> FileMap:
    # Mode 0600: it may carry a password hash and, in the late script, keys.
    return {PRESEED: File.text(document(host, tree), mode=SECRET, renderer=NAME)}
