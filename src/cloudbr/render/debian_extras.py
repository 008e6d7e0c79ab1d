"""Ubuntu/Debian files around the network file: the GRUB drop-in and cloud-init's settings.

- GRUB: `/etc/default/grub.d/*.cfg` is sourced by grub-mkconfig after /etc/default/grub, so
  appending to GRUB_CMDLINE_LINUX keeps whatever the installer put there. ethN names need
  `net.ifnames=0 biosdevname=0` (without them eth0 comes up as ens3 and no stanza matches).
  Nothing else: `netcfg/do_not_use_netplan` is an installer question that nothing on an
  installed system reads (there, netplan is disabled by its purge and by no YAML being left).
  The carriers run update-grub.
- cloud-init: our network file and /etc/hostname are the truth, so cloud-init must neither
  write network configuration over them on later boots nor rename the host.
"""

from __future__ import annotations

import yaml

from cloudbr.files import HEADER, File, FileMap
from cloudbr.model import Family, Host

NAME = "debian_extras"

GRUB_DROPIN = "/etc/default/grub.d/90-cloudbr.cfg"
CLOUD_CFG = "/etc/cloud/cloud.cfg.d/99-cloudbr.cfg"


def kernel_args(host: Host) -> list[str]:
    args = []
    if host.legacy_nic_names:
        args += ["net.ifnames=0", "biosdevname=0"]
    return args


def grub_dropin(host: Host) -> File | None:
    args = kernel_args(host)
    if not args:
        return None
    # Sourced by /bin/sh: the arguments are fixed tokens, the variable is expanded there.
    line = f'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX {" ".join(args)}"'
    return File.text(HEADER + line, renderer=NAME)


def cloud_cfg(host: Host) -> File:
    settings = {"network": {"config": "disabled"}, "preserve_hostname": True}
    text = yaml.dump(settings, Dumper=yaml.CSafeDumper, sort_keys=False)
    return File.text(HEADER + text, renderer=NAME)


def render(host: Host) -> FileMap:
    if host.distro.family is not Family.DEBIAN:
        return {}
    files: dict[str, File | None] = {
        GRUB_DROPIN: grub_dropin(host),
        CLOUD_CFG: cloud_cfg(host),
    }
    return {path: f for path, f in files.items() if f is not None}
