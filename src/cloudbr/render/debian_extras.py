"""Files around the network file: the GRUB drop-in (platforms whose kernel arguments are set
with KernelArgs.GRUB_DROPIN) and cloud-init's settings (platforms with cloud_init_settings).

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

from functools import cache

from cloudbr import yamldump
from cloudbr.files import HEADER, File, FileMap, Role
from cloudbr.model import Host

NAME = "debian_extras"

GRUB_DROPIN = "/etc/default/grub.d/90-cloudbr.cfg"
CLOUD_CFG = "/etc/cloud/cloud.cfg.d/99-cloudbr.cfg"


def grub_dropin(host: Host) -> File | None:
    args = host.kernel_args
    if not args:
        return None
    # Sourced by /bin/sh: the arguments are fixed tokens, the variable is expanded there.
    line = f'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX {" ".join(args)}"'
    return File.text(HEADER + line, renderer=NAME, role=Role.BOOT_ARGUMENTS)


@cache
def _cloud_cfg() -> File:
    settings = {"network": {"config": "disabled"}, "preserve_hostname": True}
    text = yamldump.dump(settings)
    return File.text(HEADER + text, renderer=NAME, role=Role.NETWORK_OWNERSHIP)


def cloud_cfg(host: Host) -> File:
    return _cloud_cfg()  # the same on every host


def render_grub(host: Host) -> FileMap:
    f = grub_dropin(host)
    return {GRUB_DROPIN: f} if f is not None else {}


def render_cloud_cfg(host: Host) -> FileMap:
    return {CLOUD_CFG: cloud_cfg(host)}
