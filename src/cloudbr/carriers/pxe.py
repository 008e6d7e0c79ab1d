"""PXE: the boot entry of each host, keyed by its install NIC's MAC, for iPXE, GRUB (UEFI) and
pxelinux (BIOS), plus the site's dnsmasq and nginx configuration (`pxe_servers`).

Every entry boots the host's own installer with the host's own document and the boot-line
parameters its installer needs before it can read that document:
- EL (anaconda): `inst.ks=URL` and a static `ip=` for the install NIC (dracut brings the
  network up before it fetches the kickstart).
- debian-installer: `auto=true priority=critical url=URL` plus the netcfg answers, because
  network preseeding reads the file only after netcfg has configured the network.
- Ubuntu 20.04+ (reserved): `autoinstall ds=nocloud-net;s=URL/` with the documents of
  OUT/<host>/seed/ served as URL/user-data and URL/meta-data (see `DOCUMENTS`).

Document URLs are `HTTP_URL/[TOKEN/]HOST/NAME`; TOKEN is an HMAC of the host name under the
site's `path_secret`, so the URLs are unguessable yet the same on every render.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from cloudbr import pxe_model
from cloudbr.carriers import kickstart, preseed
from cloudbr.files import HEADER, File, FileMap, Role, Unrenderable
from cloudbr.model import Distro, Host, Inventory
from cloudbr.platform_types import InstallerCarrier
from cloudbr.platforms import platform
from cloudbr.pxe_model import PxeHost, PxeSite

NAME = "pxe"
DIR = pxe_model.DIR  # OUT/pxe/: site-level, beside the OUT/<host>/ trees
CHAIN_SCRIPT = pxe_model.CHAIN_SCRIPT
IPXE_DIR = "ipxe"
GRUB_DIR = "grub"
PXELINUX_DIR = "pxelinux.cfg"
BOOT_PREFIX = pxe_model.BOOT_PREFIX  # HTTP_URL/boot/<path>: tftp_root's installer files
# What a boot-line parameter may contain: no loader syntax (';', '$', '#', '{', quotes), except
# a double-quoted value with spaces (`question="a b"`, which the kernel unquotes).
_SAFE_PARAM = re.compile(r'^[A-Za-z0-9_.,:/=+@%-]+$|^[A-Za-z0-9_./-]+="[A-Za-z0-9_.,:/=+@% -]*"$')


@dataclass(frozen=True)
class Entry:
    """One host's boot entry: the installer to load and the command line to give it."""

    host: PxeHost
    fqdn: str
    distro: Distro
    kernel: str  # relative to tftp_root
    initrd: str
    params: tuple[str, ...]


def mac_key(mac: str) -> str:
    """52:54:00:ab:cd:ef -> 52-54-00-ab-cd-ef (iPXE's ${mac:hexhyp}, pxelinux, GRUB)."""
    return mac.replace(":", "-")


def token(site: PxeSite, hostname: str) -> str | None:
    if site.path_secret is None:
        return None
    digest = hmac.new(site.path_secret, b"cloudbr-pxe\0" + hostname.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def url_path(site: PxeSite, hostname: str) -> str:
    """The host's documents' directory below HTTP_URL (no leading or trailing slash)."""
    tok = token(site, hostname)
    return f"{tok}/{hostname}" if tok else hostname


def document_url(site: PxeSite, hostname: str, name: str) -> str:
    return f"{site.http_url}/{url_path(site, hostname)}/{name}"


def _debian_params(site: PxeSite, host: Host) -> list[str]:
    url = document_url(site, host.hostname, preseed.PRESEED)
    return ["auto=true", "priority=critical", f"url={url}", *preseed.boot_parameters(host)]


def _el_params(site: PxeSite, host: Host) -> list[str]:
    pxe_host = _pxe_host(site, host)
    address = pxe_host.address
    bridge = host.primary_bridge
    device = pxe_host.nic
    params = [f"inst.ks={document_url(site, host.hostname, kickstart.OUTPUT)}"]
    if bridge.vlan is not None:
        device = f"{pxe_host.nic}.{bridge.vlan.id}"
        params.append(f"vlan={device}:{pxe_host.nic}")
    gateway = bridge.gateway4 or ""
    # dracut: ip=<client>:<peer>:<gateway>:<netmask>:<hostname>:<interface>:none
    params.append(f"ip={address.ip}::{gateway}:{address.netmask}:{host.fqdn}:{device}:none")
    params += [f"nameserver={s}" for s in host.dns.servers if s.version == 4]
    return params


ParamBuilder = Callable[[PxeSite, Host], list[str]]
# Per installer: the boot-line builder and the (URL name, path under OUT/<host>/) of every
# document nginx serves for the host. Autoinstall slots in with a builder of its own:
# ["autoinstall", "ds=nocloud-net;s=" + the host's document directory URL + "/"] (';' then
# needs escaping for GRUB and _SAFE_PARAM), serving seed/user-data and seed/meta-data.
PARAMS: dict[InstallerCarrier, ParamBuilder] = {
    InstallerCarrier.KICKSTART: _el_params,
    InstallerCarrier.PRESEED: _debian_params,
}
DOCUMENTS: dict[InstallerCarrier, tuple[tuple[str, str], ...]] = {
    InstallerCarrier.KICKSTART: ((kickstart.OUTPUT, kickstart.OUTPUT),),
    InstallerCarrier.PRESEED: ((preseed.PRESEED, preseed.PRESEED),),
}


def documents(host: Host) -> tuple[tuple[str, str], ...]:
    """(URL name, path under OUT/<host>/) of every document nginx serves for the host."""
    return DOCUMENTS[platform(host).installer.carrier]


def _pxe_host(site: PxeSite, host: Host) -> PxeHost:
    return next(p for p in site.hosts if p.hostname == host.hostname)


# x86 COMMAND_LINE_SIZE (2048, its NUL included): the kernel silently cuts a longer line.
KERNEL_CMDLINE_MAX = 2047


def _command_line_length(kernel: str, initrd: str, params: list[str]) -> int:
    """The longest line a loader hands the kernel: pxelinux adds `BOOT_IMAGE=` and `initrd=`
    to the APPEND line (GRUB only BOOT_IMAGE, iPXE neither)."""
    return len(" ".join([f"BOOT_IMAGE={kernel}", f"initrd={initrd}", *params]))


def entry(site: PxeSite, host: Host) -> Entry:
    params = PARAMS[platform(host).installer.carrier](site, host)
    params += host.kernel_args
    if site.console:
        params += ["console=tty0", f"console={site.console}"]
    for p in params:
        if not _SAFE_PARAM.fullmatch(p):  # the model is validated; this guards the loaders' syntax
            raise ValueError(f"{host.hostname}: unsafe boot parameter {p!r}")
    files = site.installer(host.distro)
    length = _command_line_length(files.kernel, files.initrd, params)
    if length > KERNEL_CMDLINE_MAX:  # many DNS servers, a long domain and URL
        raise Unrenderable(
            host.hostname,
            f"its PXE boot line would be {length} characters; the kernel keeps "
            f"{KERNEL_CMDLINE_MAX} and would cut the install network's answers",
        )
    return Entry(
        _pxe_host(site, host), host.fqdn, host.distro, files.kernel, files.initrd, tuple(params)
    )


def _comment(e: Entry) -> str:
    return f"# {e.fqdn} ({e.distro.value}): install NIC {e.host.nic} {e.host.mac}\n"


def ipxe_script(site: PxeSite, e: Entry) -> str:
    initrd_name = e.initrd.rsplit("/", 1)[-1]
    base = f"{site.http_url}/{BOOT_PREFIX}"
    # initrd=<name>: the EFI stub finds the initrd iPXE registered under that name.
    return (
        "#!ipxe\n"
        + HEADER
        + _comment(e)
        + f"echo cloudbr: installing {e.fqdn} ({e.distro.value})\n"
        + f"kernel {base}/{e.kernel} initrd={initrd_name} {' '.join(e.params)}\n"
        + f"initrd {base}/{e.initrd}\n"
        + "boot\n"
    )


def chain_script(site: PxeSite) -> str:
    """What dnsmasq hands to iPXE: fetch the script of the MAC that booted, or give up."""
    return (
        "#!ipxe\n"
        + HEADER
        + "# Each host has ipxe/<MAC with hyphens>.ipxe (cloudbr README: PXE installs).\n"
        + f"chain --autofree {site.http_url}/{DIR}/{IPXE_DIR}/${{netX/mac:hexhyp}}.ipxe"
        + " || goto unknown\n"
        + ":unknown\n"
        + "echo cloudbr: no PXE entry for ${netX/mac}; booting the next device\n"
        + "exit 1\n"
    )


def _grub_word(param: str) -> str:
    """GRUB's parser removes double quotes and splits at spaces: single-quote such words."""
    return f"'{param}'" if '"' in param or " " in param else param


def grub_cfg(e: Entry) -> str:
    return (
        HEADER
        + _comment(e)
        + "set default=0\nset timeout=5\n"
        + f"menuentry 'cloudbr: install {e.fqdn} ({e.distro.value})' {{\n"
        + f"    linux /{e.kernel} {' '.join(_grub_word(p) for p in e.params)}\n"
        + f"    initrd /{e.initrd}\n"
        + "}\n"
    )


def pxelinux_cfg(e: Entry) -> str:
    # Paths relative to pxelinux.0's directory, which is the TFTP root.
    return (
        HEADER
        + _comment(e)
        + "DEFAULT cloudbr-install\nPROMPT 0\nTIMEOUT 50\n"
        + "LABEL cloudbr-install\n"
        + f"    MENU LABEL cloudbr: install {e.fqdn} ({e.distro.value})\n"
        + f"    KERNEL {e.kernel}\n"
        + f"    INITRD {e.initrd}\n"
        + f"    APPEND {' '.join(e.params)}\n"
    )


def entries(inv: Inventory) -> list[tuple[Entry, Host]]:
    site = inv.pxe
    assert site is not None
    out = []
    for p in site.hosts:
        host = inv.host(p.hostname)
        out.append((entry(site, host), host))
    return out


def boot_files(site: PxeSite, pairs: list[tuple[Entry, Host]]) -> FileMap:
    out: FileMap = {CHAIN_SCRIPT: File.text(chain_script(site), renderer=NAME, role=Role.ARTIFACT)}
    for e, _ in pairs:
        key = mac_key(e.host.mac)
        out[f"{IPXE_DIR}/{key}.ipxe"] = File.text(
            ipxe_script(site, e), renderer=NAME, role=Role.ARTIFACT
        )
        out[f"{GRUB_DIR}/grub.cfg-01-{key}"] = File.text(
            grub_cfg(e), renderer=NAME, role=Role.ARTIFACT
        )
        out[f"{PXELINUX_DIR}/01-{key}"] = File.text(
            pxelinux_cfg(e), renderer=NAME, role=Role.ARTIFACT
        )
    return out
