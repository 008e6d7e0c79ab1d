"""Subiquity autoinstall (Ubuntu 20.04+): `autoinstall/user-data` (`#cloud-config` and one
top-level `autoinstall:`, since 24.04 any other top-level key is an error), `meta-data`, and a
`cidata` ISO of the two for media installs. Boot the live-server ISO with `autoinstall` on its
kernel command line (or it asks before wiping the disk); over the network, add
`ds=nocloud-net;s=http://.../<host>/autoinstall/` instead of attaching the ISO.

Decisions, each against subiquity's autoinstall reference:
- Install-time network: the install NIC only (the management bridge's uplink or its bond's
  primary member, as debian-installer gets), static, with the VLAN when the management bridge
  is a VLAN bridge. The live installer has no Open vSwitch, so the whole topology could not be
  built for OVS hosts; and the installed system must not keep what the installer used:
  subiquity writes it to /etc/netplan/00-installer-config.yaml, which the late-commands
  remove before laying the tree down. The NIC is matched by MAC when the inventory has one
  (the live system names NICs enpXsY); ethN without a MAC needs `net.ifnames=0
  biosdevname=0` on the installer's command line.
- Accounts: `user-data` (no `identity`, which would create a sudo user CloudStack never
  uses): root's hash and keys through cloud-init's `users`, as the seed ISO does, applied by
  the installed system's first boot (subiquity hands user-data to its datasource None).
- Storage: the `lvm` layout on the inventory's disk (`match: {path: /dev/<disk>}`), else
  subiquity's default, the largest disk.
- apt: curtin's format, `primary` (and `security`) on the inventory's mirror, no geoip.
- late-commands: one command (run with `sh -c`; the installed system is at
  $TARGET_MOUNT_POINT, /target) unpacks a gzip'd script (`packed`) and runs it: it removes the
  installer's netplan files, lays the tree down exactly (embed), enables the tree's units
  and runs update-grub when the tree sets kernel arguments, both through `curtin in-target`.
  `set -e` throughout: any failure is the command's exit status, which aborts the install.
  A tree too large for one `sh -c` argument (128 KiB) gets several commands, which spool
  the payload first.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import Any

from cloudbr.carriers import cloudinit, embed, packed
from cloudbr.files import SECRET, File, FileMap, Role
from cloudbr.iso import build_iso
from cloudbr.model import Host, Nic
from cloudbr.platforms import platform
from cloudbr.topology import install_nic

NAME = "autoinstall"
DIR = "autoinstall"
USER_DATA = f"{DIR}/user-data"
META_DATA = f"{DIR}/meta-data"
ISO = f"{DIR}/cidata.iso"
LABEL = "cidata"
TARGET = "/target"
# The CloudStack release whose agent repository (`installer.agent_repo`) the host uses: its
# apt repositories name the release as their component (`deb URL noble 4.20`).
CLOUDSTACK_RELEASE = "4.20"
PACKAGE_AGENT = "cloudstack-agent"


def _install_ethernet(nic: Nic) -> dict[str, Any]:
    conf: dict[str, Any] = {"dhcp4": False, "dhcp6": False}
    if nic.mac:
        conf["match"] = {"macaddress": nic.mac}
        conf["set-name"] = nic.name
    return conf


def _install_addressing(host: Host) -> dict[str, Any]:
    bridge = host.primary_bridge
    conf: dict[str, Any] = {"addresses": [str(a) for a in bridge.addresses]}
    gateways = [g for g in (bridge.gateway4 or host.gateway4, bridge.gateway6) if g]
    if gateways:
        # Both forms every subiquity's netplan reads: 20.04's 0.99 has no `to: default`.
        conf["routes"] = [
            {"to": "0.0.0.0/0" if g.version == 4 else "::/0", "via": str(g)} for g in gateways
        ]
    if host.dns.servers or host.dns.search:
        ns: dict[str, Any] = {"addresses": [str(s) for s in host.dns.servers]}
        if host.dns.search:
            ns["search"] = list(host.dns.search)
        conf["nameservers"] = ns
    return conf


def install_network(host: Host) -> dict[str, Any]:
    """Netplan v2 for the live installer: the install NIC with the management address."""
    name = install_nic(host)
    if name is None or not host.primary_bridge.addresses:
        raise ValueError(f"{host.hostname}: no management NIC and address to install with")
    network: dict[str, Any] = {"version": 2, "ethernets": {name: _install_ethernet(host.nic(name))}}
    vlan = host.primary_bridge.vlan
    if vlan is None:
        network["ethernets"][name].update(_install_addressing(host))
    else:
        network["vlans"] = {
            f"{name}.{vlan.id}": {"id": vlan.id, "link": name, **_install_addressing(host)}
        }
    return network


def storage(host: Host) -> dict[str, Any]:
    layout: dict[str, Any] = {"name": "lvm"}
    if host.installer.disk:
        layout["match"] = {"path": f"/dev/{host.installer.disk}"}
    return {"layout": layout}


def apt(host: Host) -> dict[str, Any]:
    p = platform(host)
    conf: dict[str, Any] = {"preserve_sources_list": False, "geoip": False}
    mirror = host.installer.mirror or p.installer.mirror
    conf["primary"] = [{"arches": ["default"], "uri": mirror}]
    if host.installer.mirror:
        # A private mirror stands for the whole archive: security updates come from it too.
        conf["security"] = [{"arches": ["default"], "uri": mirror}]
    if host.installer.agent_repo:
        # The inventory has no key for it (as kickstart's repo): the operator's repository is
        # trusted as given.
        line = f"deb [trusted=yes] {host.installer.agent_repo} {p.installer.dialect}"
        conf["sources"] = {"cloudstack.list": {"source": f"{line} {CLOUDSTACK_RELEASE}"}}
    return conf


def packages(host: Host) -> list[str]:
    pkgs = list(platform(host).packages(host.backend))
    if host.installer.install_agent:
        pkgs.append(PACKAGE_AGENT)
    return pkgs


def user_data_passthrough(host: Host) -> dict[str, Any]:
    """cloud-init user-data for the installed system's first boot (root's access)."""
    return {"timezone": host.installer.timezone, **cloudinit.root_user(host)}


LATE_PRELUDE = """\
#!/bin/sh
# cloudbr late-commands for {fqdn}: lay the host's tree down in the installed system.
set -eu
cloudbr_target=${{1:-{target}}}
# Commands of the installed system, as curtin runs them (chroot into the target).
cloudbr_in_target() {{
    curtin in-target --target="$cloudbr_target" -- "$@"
}}
# The installer's own network file (00-installer-config.yaml) would configure the NIC again.
rm -f -- "${{cloudbr_target%/}}"/etc/netplan/*.yaml
"""


def late_parts(host: Host, tree: FileMap) -> tuple[str, str, str]:
    """The script the late-command runs (its first argument is the target root), in three
    parts for `packed`: the host's own files, the programs every host carries (Role.PROGRAM,
    the same text on every host), then enabling units and update-grub."""
    own = LATE_PRELUDE.format(fqdn=host.fqdn, target=TARGET)
    keys = host.access.ssh_authorized_keys
    files = embed.with_root_keys(tree, keys, NAME)
    dir_modes = embed.SSH_DIR_MODES if keys else {}
    programs = {p: f for p, f in files.items() if f.role is Role.PROGRAM}
    others = {p: f for p, f in files.items() if f.role is not Role.PROGRAM}
    own += embed.install_script(others, root=TARGET, dir_modes=dir_modes)
    rest = []
    units = embed.units_to_enable(tree)
    if units:
        rest.append("cloudbr_in_target systemctl enable " + " ".join(map(shlex.quote, units)))
        rest.append("\n")
    if any(f.role is Role.BOOT_ARGUMENTS for f in tree.values()):
        rest.append("# The tree sets kernel arguments (GRUB drop-in).\n")
        rest.append("cloudbr_in_target update-grub\n")
    return own, embed.put_lines(programs), "".join(rest)


def late_script(host: Host, tree: FileMap) -> str:
    return "".join(late_parts(host, tree))


# Where a payload too large for one late-command is put together (see `late_commands`): in
# the live system, where `mktemp -d` of the one-command form makes its directory too.
SPOOL = '"${TMPDIR:-/tmp}/cloudbr-late"'


def late_commands(parts: tuple[str, str, str]) -> list[str]:
    """Subiquity runs each late-command as `sh -c CMD`: one command that unpacks the script
    into a fresh directory and runs it on the target (its exit status is the command's), or,
    for a tree too large for one argument, several that spool it first (`packed`)."""
    run = f'sh "$cloudbr_dir/late.sh" "${{TARGET_MOUNT_POINT:-{TARGET}}}"'
    return packed.unpack_and_run_commands(parts, script="late.sh", run=run, spool=SPOOL)


def autoinstall(host: Host, tree: FileMap) -> dict[str, Any]:
    """The `autoinstall:` mapping, keys in subiquity's reference order."""
    i = host.installer
    return {
        "version": 1,
        "locale": i.locale,
        "keyboard": {"layout": i.keyboard},
        "network": install_network(host),
        "apt": apt(host),
        "storage": storage(host),
        "ssh": {"install-server": True, "allow-pw": bool(host.access.root_password_hash)},
        "packages": packages(host),
        "late-commands": late_commands(late_parts(host, tree)),
        "user-data": user_data_passthrough(host),
    }


def documents(host: Host, tree: FileMap) -> dict[str, bytes]:
    """NoCloud file name -> content (user-data, meta-data)."""
    ud = cloudinit.USER_DATA_HEADER + cloudinit.dump({"autoinstall": autoinstall(host, tree)})
    digest = hashlib.sha256(f"{host.hostname}\0{ud}".encode()).hexdigest()[:16]
    meta = {"instance-id": f"cloudbr-autoinstall-{digest}", "local-hostname": host.hostname}
    return {"meta-data": cloudinit.dump(meta).encode(), "user-data": ud.encode()}


def render(host: Host, tree: FileMap) -> FileMap:
    docs = documents(host, tree)
    # They carry the password hash and keys: 0600.
    out = {f"{DIR}/{name}": File(data, SECRET, NAME, Role.ARTIFACT) for name, data in docs.items()}
    out[ISO] = File(build_iso(docs, label=LABEL), SECRET, NAME, Role.ARTIFACT)
    return out
