"""A complete kickstart that installs the host and lays its rootfs tree down in %post.

Decisions (see kickstart/kickstart.cfg.j2 for the document itself):
- Install source: `host.installer.mirror`, else the platform's mirror plus its default
  repositories (CentOS 7: the 7.9 vault and its updates). Open vSwitch:
  `installer.ovs_repo`, else the platform's OVS repository (CentOS 7: the Cloud SIG's RDO
  Train, whose `openvswitch` ships OVS's ifup-ovs for the `network` service). Packages and
  the services to enable and disable are the platform's.
- The CloudStack agent is installed when `installer.install_agent` is set (which requires
  `agent_repo`); `agent_repo` alone only adds the repository.
- Root: `rootpw --iscrypted` with the inventory's SHA-512 hash; without one, root's password
  is locked (`rootpw --lock`) and SSH keys are the way in. RHEL 7's kickstart has no `sshkey`
  command, so keys go to /root/.ssh/authorized_keys in %post.
- Installer network: static on the first NIC under the management bridge (by MAC when the
  inventory knows it), VLAN-tagged if that bridge is a VLAN bridge. With ethN names the PXE
  entry must pass `net.ifnames=0 biosdevname=0` as well; the bootloader line sets them for
  the installed system.
- %post (after %packages, so after the agent's installation) writes the tree exactly
  (cloudbr.carriers.embed) and moves aside any ifcfg file the installer wrote that is not the
  host's, so that no stale interface comes up at boot. Its script travels as gzip members
  (cloudbr.carriers.packed), like the preseed's and autoinstall's: the programs every host
  carries are compressed once per render, and %packages names gzip, which unpacks them.
"""

from __future__ import annotations

import shlex

from cloudbr import templates
from cloudbr.carriers import embed, packed
from cloudbr.carriers.embed import install_script, units_to_enable
from cloudbr.files import SAME_ON_EVERY_HOST, SECRET, File, FileMap, Role
from cloudbr.model import Backend, Host
from cloudbr.platform_types import Repo
from cloudbr.platforms import platform
from cloudbr.render.ifcfg import SCRIPTS
from cloudbr.render.nm_keyfile import CONNECTIONS
from cloudbr.topology import install_nic

NAME = "kickstart"
OUTPUT = "kickstart.cfg"

# CloudStack KVM hosts: agent 1798, libvirt 16509/16514, VNC consoles, live migration.
FIREWALL_PORTS = ("1798:tcp", "16509:tcp", "16514:tcp", "5900-6100:tcp", "49152-49216:tcp")

AUTHORIZED_KEYS = embed.AUTHORIZED_KEYS
INSTALLER_IFCFG_BACKUP = "/root/cloudbr-installer-ifcfg"
INSTALLER_NM_BACKUP = "/root/cloudbr-installer-nm"


def repos(host: Host) -> list[Repo]:
    inst, default = host.installer, platform(host).installer
    out = [] if inst.mirror else list(default.repos)
    ovs_repo = inst.ovs_repo or default.ovs_repo
    if host.backend is Backend.OVS and ovs_repo:
        out.append(Repo("openvswitch", ovs_repo))
    if inst.agent_repo:
        out.append(Repo("cloudstack", inst.agent_repo))
    return out


# %post's gunzip: a minimal install has it only as a dependency of other packages.
POST_PACKAGES = ("gzip",)


def packages(host: Host) -> list[str]:
    out = list(platform(host).packages(host.backend))
    out += [p for p in POST_PACKAGES if p not in out]
    if host.installer.install_agent:
        out.append("cloudstack-agent")
    return out


def network_line(host: Host) -> str:
    bridge = host.primary_bridge
    name = install_nic(host)
    nic = host.nic(name) if name else None
    opts = [f"--device={(nic.mac or nic.name) if nic else 'link'}"]
    if nic and bridge.vlan:
        opts.append(f"--vlanid={bridge.vlan.id}")
    v4 = bridge.ipv4[0] if bridge.ipv4 else None
    v6 = bridge.ipv6[0] if host.ipv6 and bridge.ipv6 else None
    if v4:
        opts.append("--bootproto=static")
    elif v6:
        # --bootproto is IPv4's method (pykickstart): an IPv6-only host turns IPv4 off, or
        # anaconda would set up a static IPv4 without an address.
        opts.append("--noipv4")
    else:
        opts.append("--bootproto=dhcp")
    if v4:
        opts += [f"--ip={v4.ip}", f"--netmask={v4.netmask}"]
        if bridge.gateway4:
            opts.append(f"--gateway={bridge.gateway4}")
    if v6:
        opts.append(f"--ipv6={v6}")
        if bridge.gateway6:
            opts.append(f"--ipv6gateway={bridge.gateway6}")
    if not host.ipv6:
        opts.append("--noipv6")
    if host.dns.servers:
        opts.append("--nameserver=" + ",".join(str(s) for s in host.dns.servers))
    opts += [f"--hostname={host.fqdn}", "--activate"]
    return "network " + " ".join(opts)


def _enable_units(tree: FileMap) -> str:
    units = units_to_enable(tree)
    if not units:
        return ""
    names = " ".join(shlex.quote(u) for u in units)
    return f'systemctl --root="${{cloudbr_sys:-/}}" enable {names}\n'


def _move_aside(
    tree: FileMap, directory: str, pattern: str, always: tuple[str, ...], backup: str
) -> str:
    prefix = f"{directory}/"
    ours = {
        p[len(prefix) :] for p, f in tree.items() if f.role is Role.NETWORK and p.startswith(prefix)
    }
    keep = sorted(set(always) | ours)
    return f"""\
cloudbr_keep={shlex.quote(" " + " ".join(keep) + " ")}
for cloudbr_f in "$cloudbr_sys{directory}"/{pattern}; do
    [ -e "$cloudbr_f" ] || continue
    case "$cloudbr_keep" in *" ${{cloudbr_f##*/}} "*) continue ;; esac
    mkdir -p "$cloudbr_sys{backup}"
    mv -f -- "$cloudbr_f" "$cloudbr_sys{backup}/"
done
"""


def _finish_script(tree: FileMap) -> str:
    """Shell run after the files are in place: set aside the installer's stale interface
    definitions and restore SELinux labels."""
    return f"""\
# Move aside the installer's own interface definitions (its install-time network: ifcfg
# files up to EL8, NetworkManager keyfiles on EL9): only the host's files and initscripts'
# ifcfg-lo may come up at boot.
cloudbr_sys=${{1:-/}}
cloudbr_sys=${{cloudbr_sys%/}}
{_move_aside(tree, SCRIPTS, "ifcfg-*", ("ifcfg-lo",), INSTALLER_IFCFG_BACKUP)}\
{_move_aside(tree, CONNECTIONS, "*.nmconnection", (), INSTALLER_NM_BACKUP)}\
{_enable_units(tree)}# Files written from %post may lack their SELinux labels (e.g. /root/.ssh).
if [ -z "$cloudbr_sys" ] && command -v restorecon >/dev/null 2>&1; then
    restorecon -R /etc /root || true
fi
"""


def post_files(host: Host, tree: FileMap) -> FileMap:
    """What %post writes: the host's tree plus root's SSH keys (no `sshkey` on RHEL 7)."""
    return embed.with_root_keys(tree, host.access.ssh_authorized_keys, NAME)


def post_parts(host: Host, tree: FileMap) -> tuple[str, str, str]:
    """The script %post runs (its first argument, if any, is the target root), in three
    parts for `packed`: the host's own files, the programs, then the finishing steps."""
    dirs = embed.SSH_DIR_MODES if host.access.ssh_authorized_keys else {}
    files = post_files(host, tree)
    own = {p: f for p, f in files.items() if f.role not in SAME_ON_EVERY_HOST}
    programs = {p: f for p, f in files.items() if f.role in SAME_ON_EVERY_HOST}
    return install_script(own, dir_modes=dirs), embed.put_lines(programs), _finish_script(tree)


def post_script(host: Host, tree: FileMap) -> str:
    """What %post runs, unpacked."""
    return "".join(post_parts(host, tree))


def post_command(parts: tuple[str, str, str]) -> str:
    """The %post body: unpack the script and run it with bash (the chrooted installed system's;
    a test passes a scratch root as the first argument)."""
    return packed.unpack_and_run(parts, script="post.sh", run='bash "$cloudbr_dir/post.sh" "$@"')


def render(host: Host, tree: FileMap) -> FileMap:
    p = platform(host)
    text = templates.render(
        "kickstart/kickstart.cfg.j2",
        host=host,
        platform=p,
        mirror=host.installer.mirror or p.installer.mirror,
        repos=repos(host),
        network_line=network_line(host),
        firewall_ports=",".join(FIREWALL_PORTS),
        boot_append=" ".join(host.kernel_args),
        enabled_services=",".join(p.enable(host.backend)),
        disabled_services=",".join(p.disable(host.backend)),
        packages=packages(host),
        post_script=post_command(post_parts(host, tree)),
    )
    # 0600: the document carries the root password hash.
    return {OUTPUT: File.text(text, mode=SECRET, renderer=NAME, role=Role.ARTIFACT)}
