"""The three NoCloud documents (user-data, meta-data, network-config) for one host.

Who owns the network is decided here, once, per backend and network stack:
- linux bridge: cloud-init renders it. network-config is our Netplan v2 mapping (the one
  /etc/netplan/90-cloudbr.yaml carries, but unwrapped and with the IPv6 default route as
  `gateway6`, so that cloud-init 19.4 (CentOS 7.9) reads and renders it), and write_files
  leaves out the files that would fight cloud-init's rendering: our own interface
  definitions (Role.NETWORK: netplan, eni, ifcfg) and the cloud.cfg.d snippet that sets
  `network:` (Role.NETWORK_OWNERSHIP).
  Such a snippet would be harmless on the first boot (init-local applies the seed's
  network-config before write_files runs) but, being system config, it outranks the
  datasource on every later boot, so a re-seeded host (new instance-id) would silently keep
  its old network.
- Open vSwitch: cloud-init must not touch the network (`config: disabled`); write_files lays
  down the whole tree (ENI or ifcfg, the first-boot script and unit) and runcmd starts the
  first-boot service that builds the OVS topology.
- NetworkManager keyfiles (EL8/EL9), both backends: as for Open vSwitch, cloud-init keeps
  off the network and write_files carries the keyfiles (0600) and the conf.d drop-in;
  cloud-init 23.4's renderers would give ifcfg files (sysconfig) or a bond without miimon and
  with IPv6 on (NetworkManager). write_files runs after NetworkManager started, so runcmd
  has it reload its configuration and profiles and bring the ports up
  (`render.activation`), before the first-boot unit of an OVS host starts.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from cloudbr import render, yamldump
from cloudbr.carriers.embed import units_to_enable
from cloudbr.files import File, FileMap, Role
from cloudbr.memo import ByIdentity
from cloudbr.model import Backend, Host
from cloudbr.platform_types import CLOUD_INIT_RENDERS
from cloudbr.platforms import platform
from cloudbr.render import netplan

USER_DATA_HEADER = "#cloud-config\n"

# Roles of the files that would fight cloud-init where it renders the network itself.
NETWORK_ROLES = frozenset({Role.NETWORK, Role.NETWORK_OWNERSHIP})

# Larger text goes base64 too: one opaque line instead of a block YAML must re-indent.
INLINE_LIMIT = 64 * 1024
# Control characters other than TAB and LF (CR, NUL, ESC, DEL...) do not survive a YAML
# scalar unchanged, or would make it unreadable.
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def dump(doc: Any) -> str:
    # No line folding: an SSH key or a long line stays on one line, as the operator wrote it.
    # Multi-line strings as literal blocks, so write_files stays readable.
    return yamldump.dump(
        doc, yamldump.LiteralDumper, default_flow_style=False, allow_unicode=True, width=1 << 16
    )


def cloud_init_owns_network(host: Host) -> bool:
    """Linux bridge on a platform whose network stacks cloud-init renders faithfully."""
    stacks = set(platform(host).stacks(host.backend))
    return host.backend is Backend.LINUXBRIDGE and stacks <= CLOUD_INIT_RENDERS


def _text(content: bytes) -> str | None:
    """The content as text, if it goes inline."""
    if len(content) > INLINE_LIMIT or _CONTROL.search(content):
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _content(content: bytes) -> dict[str, str]:
    text = _text(content)
    if text is not None:
        return {"content": text}
    return {"encoding": "b64", "content": base64.b64encode(content).decode("ascii")}


_content_of = ByIdentity(_content)  # the same str for a program every host carries


def write_file_entry(path: str, f: File) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, **_content_of(f.content)}
    entry["owner"] = "root:root"
    entry["permissions"] = f"{f.mode:04o}"
    # No `defer`: the files must be on disk in the init stage, before runcmd (final stage)
    # enables the first-boot unit they contain.
    return entry


def carried_paths(host: Host, tree: FileMap) -> list[str]:
    """The tree's files that user-data writes, sorted."""
    # The image element lays the blacklist down only once the CloudStack agent (whose
    # installation needs the bridge module) is in the image; the seed cannot know that.
    # Programs that are the same on every host travel once, as files of the seed medium.
    skip = {Role.MODULE_BLACKLIST, Role.SHARED_PROGRAM}
    if cloud_init_owns_network(host):
        skip |= NETWORK_ROLES
    return sorted(path for path, f in tree.items() if f.role not in skip)


def shared_files(tree: FileMap) -> dict[str, str]:
    """Seed file name -> target path of the tree's shared programs (the seed carries them as
    files of their own next to user-data; runcmd installs them from there)."""
    return {
        PurePosixPath(p).name: p for p, f in sorted(tree.items()) if f.role is Role.SHARED_PROGRAM
    }


# runcmd's installer of the shared programs: from the seed medium (our ISO, label cidata);
# with another NoCloud source (a seed directory, seedfrom) the image must have them already
# (the DIB image bakes them). Arguments: pairs of seed file name and target path.
INSTALL_SHARED = """set -e
m=$(mktemp -d)
if mount -o ro -L cidata "$m" 2>/dev/null || mount -o ro -L CIDATA "$m" 2>/dev/null; then
    rc=0
    while [ $# -gt 1 ]; do install -D -m 0755 "$m/$1" "$2" || rc=1; shift 2; done
    umount "$m"
else
    rc=0
    while [ $# -gt 1 ]; do test -x "$2" || rc=1; shift 2; done
fi
rmdir "$m"
exit $rc
"""


def root_user(host: Host) -> dict[str, Any]:
    access = host.access
    if not access.root_password_hash and not access.ssh_authorized_keys:
        return {}
    root: dict[str, Any] = {"name": "root"}
    if access.root_password_hash:
        root["hashed_passwd"] = access.root_password_hash
        root["lock_passwd"] = False
    if access.ssh_authorized_keys:
        root["ssh_authorized_keys"] = list(access.ssh_authorized_keys)
    # No "default" entry: a KVM host has no distro login user; CloudStack connects as root.
    return {"disable_root": False, "users": [root]}


def _runcmd(host: Host, tree: FileMap, carried: FileMap) -> dict[str, Any]:
    cmds: list[list[str]] = []
    roles = {f.role for f in carried.values()}
    # write_files runs after systemd-modules-load and systemd-sysctl did at this first boot:
    # apply the host's module and sysctl files now (e.g. IPv6 off), not only from the next.
    if Role.MODULES in roles:
        cmds.append(["systemctl", "restart", "systemd-modules-load.service"])
    if Role.SYSCTL in roles:
        cmds.append(["systemctl", "restart", "systemd-sysctl.service"])
    if not cloud_init_owns_network(host):
        # The tree's own network files, taken up by their running stack (NetworkManager).
        cmds += render.activation(host)
    shared = shared_files(tree)
    if shared:
        pairs = [w for name, path in shared.items() for w in (name, path)]
        cmds.append(["sh", "-c", INSTALL_SHARED, "cloudbr-install-shared", *pairs])
    units = units_to_enable(carried)
    if units:
        cmds += [
            ["systemctl", "daemon-reload"],
            # Blocking start: the OVS first boot orders itself before network-online.target,
            # which cloud-final.service (where runcmd runs) already waited for, so this cannot
            # deadlock; and a failed first boot then shows in `cloud-init status`.
            ["systemctl", "enable", "--now", *units],
        ]
    return {"runcmd": cmds} if cmds else {}


def user_data(host: Host, tree: FileMap) -> dict[str, Any]:
    doc: dict[str, Any] = {
        # No `fqdn`: on the RHEL family cloud-init writes the fqdn, when it has one, into
        # /etc/hostname (19.4 has no prefer_fqdn_over_hostname); the short name it then
        # takes from meta-data's local-hostname is what /etc/hostname in the tree says.
        "hostname": host.hostname,
        "preserve_hostname": False,
        # /etc/hosts comes from the tree (write_files); cloud-init must not rewrite it.
        "manage_etc_hosts": False,
    }
    doc.update(root_user(host))
    carried = {p: tree[p] for p in carried_paths(host, tree)}
    doc["write_files"] = [write_file_entry(p, f) for p, f in carried.items()]
    doc.update(_runcmd(host, tree, carried))
    return doc


def network_config(host: Host) -> dict[str, Any]:
    """Unwrapped v2 (no top-level `network:`): before 22.2, NoCloud strips a `network:` key
    only around v1 or `config: disabled` (LP #1906187), and a wrapped v2 document then has no
    version. `{network: {config: disabled}}` is unwrapped by every version."""
    if cloud_init_owns_network(host):
        return netplan.network_config(host, gateway6_key=True)
    return {"network": {"config": "disabled"}}


def _sha256(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()


_blob_digest = ByIdentity(_sha256)


def instance_id(
    host: Host, user_data_text: str, network_config_text: str, extra: tuple[bytes, ...] = ()
) -> str:
    """Stable per content: an unchanged host keeps its id (cloud-init does not re-run its
    per-instance modules), any change to what the seed carries gives a new one."""
    digest = hashlib.sha256()
    for part in (host.hostname.encode(), user_data_text.encode(), network_config_text.encode()):
        digest.update(part)
        digest.update(b"\0")
    for blob in extra:  # the shared programs' bytes (none: the id stays what it was)
        digest.update(_blob_digest(blob))
    return "cloudbr-" + digest.hexdigest()[:16]


@dataclass(frozen=True)
class Seed:
    user_data: str
    meta_data: str
    network_config: str
    shared: tuple[tuple[str, bytes], ...] = ()  # shared programs, as files of the medium

    def files(self) -> dict[str, bytes]:
        """NoCloud file name -> content."""
        return {
            "meta-data": self.meta_data.encode("utf-8"),
            "network-config": self.network_config.encode("utf-8"),
            "user-data": self.user_data.encode("utf-8"),
            **dict(self.shared),
        }


def seed(host: Host, tree: FileMap) -> Seed:
    ud = USER_DATA_HEADER + dump(user_data(host, tree))
    nc = dump(network_config(host))
    shared = tuple((name, tree[path].content) for name, path in shared_files(tree).items())
    ident = instance_id(host, ud, nc, tuple(blob for _, blob in shared))
    meta = {"instance-id": ident, "local-hostname": host.hostname}
    return Seed(user_data=ud, meta_data=dump(meta), network_config=nc, shared=shared)
