"""Files every CloudStack KVM host gets, whatever its distro: identity, kernel settings,
module loading and the agent's network settings."""

from __future__ import annotations

from cloudbr.files import HEADER, File, FileMap, Role
from cloudbr.model import Backend, Host

NAME = "common"

AGENT_PROPERTIES = "/etc/cloudbr/agent.properties"
AGENT_MERGE = "/usr/local/sbin/cloudbr-agent-properties"
AGENT_DROPIN_PATH = "/etc/systemd/system/cloudstack-agent.service.d/cloudbr.conf"
BRIDGE_BLACKLIST = "/etc/modprobe.d/cloudbr-bridge-blacklist.conf"
SYSCTL = "/etc/sysctl.d/90-cloudbr.conf"
MODULES = "/etc/modules-load.d/cloudbr.conf"


def _text(body: str, role: Role, mode: int = 0o644) -> File:
    return File.text(HEADER + body, mode=mode, renderer=NAME, role=role)


def hostname(host: Host) -> File:
    # Short name: systemd and cloud-init expect a single label; the FQDN comes from /etc/hosts.
    return File.text(host.hostname, renderer=NAME, role=Role.HOST)


def hosts_file(host: Host) -> File:
    lines = ["127.0.0.1\tlocalhost localhost.localdomain"]
    if host.ipv6:
        lines.append("::1\tlocalhost ip6-localhost ip6-loopback")
    names = f"{host.fqdn} {host.hostname}" if host.domain else host.hostname
    for addr in host.primary_bridge.addresses:
        if addr.version == 4 or host.ipv6:
            lines.append(f"{addr.ip}\t{names}")
    return _text("\n".join(lines), Role.HOST)


def sysctl(host: Host) -> File | None:
    lines = []
    if not host.ipv6:
        lines += [f"net.ipv6.conf.{scope}.disable_ipv6 = 1" for scope in ("all", "default", "lo")]
    if host.backend is Backend.LINUXBRIDGE:
        # Bridged guest traffic must not traverse the host's iptables. These keys exist only
        # once br_netfilter is loaded, which modules-load.d does before systemd-sysctl runs.
        lines += [
            f"net.bridge.bridge-nf-call-{table} = 0"
            for table in ("iptables", "ip6tables", "arptables")
        ]
    return _text("\n".join(lines), Role.SYSCTL) if lines else None


def modules(host: Host) -> File | None:
    mods = []
    if host.backend is Backend.LINUXBRIDGE:
        if host.bonds:
            mods.append("bonding")
        if host.vlans:
            mods.append("8021q")
        mods += ["bridge", "br_netfilter"]
    else:
        mods.append("openvswitch")
    return _text("\n".join(mods), Role.MODULES)


def bridge_blacklist(host: Host) -> File | None:
    # OVS hosts must never get a linux bridge by accident; `blacklist` alone does not stop an
    # explicit modprobe, an install override does. The carriers lay this down only after the
    # CloudStack agent is installed, because the agent's installation needs the module.
    if host.backend is not Backend.OVS or not host.blacklist_bridge_module:
        return None
    return _text("install bridge /bin/false", Role.MODULE_BLACKLIST)


def agent_settings(host: Host) -> list[tuple[str, str]]:
    """Our keys only, in file order (also what `cloudbr-verify` expects to find)."""
    labels = host.traffic_labels
    if host.backend is Backend.OVS:
        props = [
            ("network.bridge.type", "openvswitch"),
            ("libvirt.vif.driver", "com.cloud.hypervisor.kvm.resource.OvsVifDriver"),
        ]
    else:
        props = [
            ("network.bridge.type", "native"),
            ("libvirt.vif.driver", "com.cloud.hypervisor.kvm.resource.BridgeVifDriver"),
        ]
    props += [
        ("private.network.device", labels.management),
        ("guest.network.device", labels.guest),
        ("public.network.device", labels.public),
    ]
    return props


def agent_properties(host: Host) -> File:
    """The agent package owns agent.properties (resource=, host=, guid=, ...), so the merge
    script below folds these keys into it instead of replacing it."""
    return _text("".join(f"{k}={v}\n" for k, v in agent_settings(host)), Role.AGENT_SETTINGS)


# Runs before every start of the agent (and from the installers after the agent package is
# installed): whenever the package (re)creates agent.properties, our keys are put back, and
# every other key the package or cloudstack-setup-agent wrote is kept.
MERGE_SCRIPT = r"""#!/bin/sh
# Fold cloudbr's CloudStack agent settings into agent.properties, keeping every other key.
# Java properties: a key ends at the first '=', ':' or blank ("k=v", "k = v", "k: v"), '#'
# and '!' start comments, a line ending in an odd number of '\' continues on the next.
# The file holds keystore.passphrase: its mode and owner are kept (cp -p), a new one is 0600.
set -eu
root="${CLOUDBR_ROOT:-}"
src="$root/etc/cloudbr/agent.properties"
dst="$root/etc/cloudstack/agent/agent.properties"
[ -f "$src" ] || exit 0
mkdir -p "${dst%/*}"
umask 077
[ -f "$dst" ] || : >"$dst"
tmp=$(mktemp "$dst.cloudbr.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cp -p "$dst" "$tmp"
awk '
    function key(line) {
        sub(/^[ \t\f]+/, "", line)
        match(line, /^([^=: \t\f\\]|\\.)*/)
        return substr(line, 1, RLENGTH)
    }
    function continues(line,    n) {
        n = 0
        while (n < length(line) && substr(line, length(line) - n, 1) == "\\") n++
        return n % 2
    }
    function blank_or_comment(line) { return line ~ /^[ \t\f]*([#!]|$)/ }
    FNR == NR {
        if (!blank_or_comment($0)) { k = key($0); if (!(k in want)) order[++n] = k; want[k] = $0 }
        next
    }
    more { more = continues($0); if (!ours) print; next }
    blank_or_comment($0) { print; next }
    {
        k = key($0); more = continues($0); ours = k in want
        if (!ours) { print; next }
        if (!(k in done)) print want[k]
        done[k] = 1
    }
    END { for (i = 1; i <= n; i++) if (!(order[i] in done)) print want[order[i]] }
' "$src" "$dst" >"$tmp"
mv -f "$tmp" "$dst"
trap - EXIT
"""

AGENT_DROPIN = """\
# cloudbr: put the inventory's network settings into agent.properties before each start.
[Service]
ExecStartPre=/usr/local/sbin/cloudbr-agent-properties
"""


def render(host: Host) -> FileMap:
    files: dict[str, File | None] = {
        "/etc/hostname": hostname(host),
        "/etc/hosts": hosts_file(host),
        SYSCTL: sysctl(host),
        MODULES: modules(host),
        BRIDGE_BLACKLIST: bridge_blacklist(host),
        AGENT_PROPERTIES: agent_properties(host),
        AGENT_MERGE: File.text(MERGE_SCRIPT, mode=0o755, renderer=NAME, role=Role.PROGRAM),
        AGENT_DROPIN_PATH: _text(AGENT_DROPIN, Role.AGENT_SETTINGS),
    }
    return {path: f for path, f in files.items() if f is not None}
