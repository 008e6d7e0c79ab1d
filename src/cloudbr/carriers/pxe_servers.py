"""The boot server's daemons: dnsmasq (DHCP or proxy-DHCP, TFTP) and nginx (HTTP).

Installer documents carry the root password hash and SSH keys, so nginx serves each one
only to its own host's install address (the installer fetches it after bringing up that
static address: `ip=` for anaconda, the netcfg answers for debian-installer), at an exact
URL, by GET only, with no directory listing; any other URL is 404. With `path_secret` the
URL also carries a per-host HMAC token. The iPXE scripts and the installer kernels are
public: they hold no secret (an iPXE script names its document's URL, which is why the
address check, not the token, is what keeps documents to their host).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cloudbr.carriers import preseed, pxe
from cloudbr.files import HEADER, File, FileMap, Role
from cloudbr.model import Host, Inventory
from cloudbr.pxe_model import PxeDhcpMode, PxeLoader, PxeSite

Pairs = list[tuple[pxe.Entry, Host]]

# Boot loaders dnsmasq hands to firmware, expected at the top of tftp_root.
LOADERS: dict[PxeLoader, dict[str, str]] = {
    PxeLoader.IPXE: {"bios": "undionly.kpxe", "efi64": "ipxe.efi"},
    PxeLoader.NATIVE: {"bios": "pxelinux.0", "efi64": "grubx64.efi"},
}
# RFC 4578 client architectures: 0 BIOS, 7 and 9 x86-64 UEFI.
EFI64_ARCHES = (7, 9)
# proxy-DHCP's pxe-service matches one architecture exactly, by dnsmasq's name for it:
# x86-64_EFI is 7 and BC_EFI 9 there (RFC 4578 names them the other way round), and x86-64
# firmware and iPXE's EFI build (9) send either, so both.
PXE_CSA = {"bios": ("x86PC",), "efi64": ("x86-64_EFI", "BC_EFI")}


def _tag(host: str) -> str:
    return f"cloudbr-{host}"


def _dhcp_lines(site: PxeSite, pairs: Pairs) -> list[str]:
    net = site.server.network
    lines: list[str] = []
    if site.dhcp_mode is PxeDhcpMode.PROXY:
        lines += [
            "# proxy-DHCP: the network's DHCP server hands out addresses; this answers with",
            "# boot information only, and only to the hosts below.",
            f"dhcp-range={net.network_address},proxy,{net.netmask}",
        ]
        lines += [f"dhcp-host={e.host.mac},set:{_tag(e.host.hostname)}" for e, _ in pairs]
        return lines
    if site.dhcp_range is None:
        lines += [
            "# Only the hosts below get an address (no dynamic range).",
            f"dhcp-range={net.network_address},static,{net.netmask},{site.lease_time}",
        ]
    else:
        start, end = site.dhcp_range
        lines += [
            "# Other machines get an address from the range, but no boot file, and no router",
            "# (dnsmasq would name itself; the hosts below get their own gateway).",
            f"dhcp-range={start},{end},{net.netmask},{site.lease_time}",
            "dhcp-option=option:router",
        ]
    for e, host in pairs:
        name = e.host.hostname
        lines.append(f"# {e.fqdn}: its install address, on its install NIC {e.host.nic}")
        lines.append(f"dhcp-host={e.host.mac},set:{_tag(name)},{e.host.address.ip},{name}")
        gw = host.primary_bridge.gateway4
        # Without a router of its own dnsmasq would name itself the router.
        router = f",{gw}" if gw is not None and gw in net else ""
        lines.append(f"dhcp-option=tag:{_tag(name)},option:router{router}")
        dns = ",".join(str(s) for s in host.dns.servers if s.version == 4)
        if dns:
            lines.append(f"dhcp-option=tag:{_tag(name)},option:dns-server,{dns}")
    return lines


def _boot_lines(site: PxeSite) -> list[str]:
    loaders = LOADERS[site.loader]
    chain = f"{site.http_url}/{pxe.DIR}/{pxe.CHAIN_SCRIPT}"
    server = site.server.ip
    lines = ["dhcp-userclass=set:ipxe,iPXE"]
    lines += [f"dhcp-match=set:efi64,option:client-arch,{a}" for a in EFI64_ARCHES]
    if site.dhcp_mode is PxeDhcpMode.PROXY:
        lines.append("dhcp-ignore=tag:!known")
        ipxe = site.loader is PxeLoader.IPXE
        for kind, names in PXE_CSA.items():
            for csa in names:
                first = "tag:!ipxe," if ipxe else ""
                lines.append(f'pxe-service={first}{csa},"cloudbr install",{loaders[kind]}')
                if ipxe:
                    lines.append(f'pxe-service=tag:ipxe,{csa},"cloudbr install",{chain}')
        return lines
    if site.loader is PxeLoader.IPXE:
        lines += [
            "# Firmware PXE loads iPXE; iPXE (user class iPXE) gets the chain script.",
            f"dhcp-boot=tag:known,tag:!ipxe,tag:!efi64,{loaders['bios']},,{server}",
            f"dhcp-boot=tag:known,tag:!ipxe,tag:efi64,{loaders['efi64']},,{server}",
            f"dhcp-boot=tag:known,tag:ipxe,{chain}",
        ]
    else:
        lines += [
            "# pxelinux reads pxelinux.cfg/01-<mac>, GRUB grub.cfg-01-<mac> (from OUT/pxe/).",
            f"dhcp-boot=tag:known,tag:!efi64,{loaders['bios']},,{server}",
            f"dhcp-boot=tag:known,tag:efi64,{loaders['efi64']},,{server}",
        ]
    return lines


def dnsmasq_conf(site: PxeSite, pairs: Pairs) -> str:
    lines = [
        HEADER.rstrip("\n"),
        f"# PXE installs: DHCP ({site.dhcp_mode.value}) and TFTP on {site.server.network}.",
        "# TFTP root: the loaders (" + ", ".join(LOADERS[site.loader].values()) + "), the",
        "# installers and links to OUT/pxe/pxelinux.cfg and OUT/pxe/grub (see the README).",
        "port=0",  # no DNS: DHCP and TFTP only
        f"listen-address={site.server.ip}",
        "bind-dynamic",
        "log-dhcp",
        *_dhcp_lines(site, pairs),
        "enable-tftp",
        f"tftp-root={site.tftp_root}",
        *_boot_lines(site),
    ]
    return "\n".join(lines) + "\n"


def _location(match: str, path: str, target: str, allow: str | None = None) -> list[str]:
    body = [f"    location {match} {path} {{", f"        alias {target};"]
    if allow is not None:
        body += [f"        allow {allow};", "        deny all;"]
    body += ["        limit_except GET { deny all; }", "    }"]
    return body


def nginx_conf(site: PxeSite, pairs: Pairs) -> str:
    url = urlsplit(site.http_url)
    prefix = url.path.rstrip("/")
    root = site.document_root.rstrip("/")
    lines = [
        HEADER.rstrip("\n"),
        "# PXE installs: a server block for nginx's http {} context (e.g. conf.d/). Read-only,",
        "# no listing; each installer document only to its own host's install address.",
        "server {",
        f"    listen {url.port or 80};",
        f"    server_name {url.hostname};",
        "    autoindex off;",
        "    server_tokens off;",
        "    default_type text/plain;",
    ]
    lines += _location("=", f"{prefix}/{pxe.DIR}/{pxe.CHAIN_SCRIPT}", f"{root}/{pxe.DIR}/boot.ipxe")
    for e, _ in pairs:
        script = f"{pxe.DIR}/{pxe.IPXE_DIR}/{pxe.mac_key(e.host.mac)}.ipxe"
        lines += _location("=", f"{prefix}/{script}", f"{root}/{script}")
    tftp = site.tftp_root.rstrip("/")
    served = sorted({p for e, _ in pairs for p in (e.kernel, e.initrd)})
    for path in served:
        lines += _location("=", f"{prefix}/{pxe.BOOT_PREFIX}/{path}", f"{tftp}/{path}")
    for e, host in pairs:
        lines.append(f"    # {e.fqdn}: only from its install address")
        for name, rel in pxe.documents(host):
            where = f"{prefix}/{pxe.url_path(site, host.hostname)}/{name}"
            target = f"{root}/{host.hostname}/{rel}"
            lines += _location("=", where, target, allow=str(e.host.address.ip))
        # The programs its preseed fetches from beside itself: one file in OUT for all hosts.
        for name in preseed.site_files([host]):
            where = f"{prefix}/{pxe.url_path(site, host.hostname)}/{name}"
            target = f"{root}/{preseed.SITE_DIR}/{name}"
            lines += _location("=", where, target, allow=str(e.host.address.ip))
    lines += ["    location / {", "        return 404;", "    }", "}"]
    return "\n".join(lines) + "\n"


def render_site(inv: Inventory) -> FileMap:
    """OUT/pxe/ (paths relative to it): boot entries, dnsmasq.conf, nginx.conf; empty
    without site.pxe."""
    if inv.pxe is None:
        return {}
    pairs = pxe.entries(inv)
    out = pxe.boot_files(inv.pxe, pairs)
    out["dnsmasq.conf"] = File.text(
        dnsmasq_conf(inv.pxe, pairs), renderer=pxe.NAME, role=Role.ARTIFACT
    )
    out["nginx.conf"] = File.text(nginx_conf(inv.pxe, pairs), renderer=pxe.NAME, role=Role.ARTIFACT)
    return out
