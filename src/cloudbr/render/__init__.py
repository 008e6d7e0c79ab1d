"""Rootfs renderers: pure functions from a resolved Host to the files it needs on disk.

One module per format. `rootfs(host)` runs the renderers of the host's platform (its network
stacks for the host's backend, how it sets kernel arguments, its cloud-init settings) and
merges their file maps; nothing here touches the filesystem or names a distro. A new network
stack or kernel-argument method is one line in the tables below.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudbr.files import FileMap, merge
from cloudbr.model import Host
from cloudbr.platform_types import KernelArgs, NetworkStack
from cloudbr.platforms import platform
from cloudbr.render import (
    common,
    debian_extras,
    eni,
    ifcfg,
    netplan,
    nm_keyfile,
    ovs_firstboot,
    verify,
)

Renderer = Callable[[Host], FileMap]

# Network stack -> the renderers that write it.
STACK_RENDERERS: dict[NetworkStack, tuple[Renderer, ...]] = {
    NetworkStack.IFCFG: (ifcfg.render,),
    NetworkStack.NETPLAN: (netplan.render,),
    NetworkStack.IFUPDOWN: (eni.render,),
    NetworkStack.NM_KEYFILE: (nm_keyfile.render,),
    NetworkStack.OVS_FIRSTBOOT: (ovs_firstboot.render,),
}
# Network stack -> the commands that make a running host take up that stack's files, where a
# seed's write_files lays them down after the stack's daemon started (cloud-init's network
# off). Stacks that read their files at boot, or whose first-boot unit the seed starts, have
# none.
STACK_ACTIVATION: dict[NetworkStack, Callable[[Host], list[list[str]]]] = {
    NetworkStack.NM_KEYFILE: nm_keyfile.activation,
}
# How kernel arguments are set -> what the tree carries for it (BOOTLOADER: the carrier).
KERNEL_ARGS_RENDERERS: dict[KernelArgs, tuple[Renderer, ...]] = {
    KernelArgs.BOOTLOADER: (),
    KernelArgs.GRUB_DROPIN: (debian_extras.render_grub,),
}


def renderers_for(host: Host) -> list[Renderer]:
    p = platform(host)
    out: list[Renderer] = [common.render, *KERNEL_ARGS_RENDERERS[p.kernel_args]]
    if p.cloud_init_settings:
        out.append(debian_extras.render_cloud_cfg)
    out.append(verify.render)
    for stack in p.stacks(host.backend):
        out += STACK_RENDERERS[stack]
    return out


def activation(host: Host) -> list[list[str]]:
    return [
        cmd
        for stack in platform(host).stacks(host.backend)
        if stack in STACK_ACTIVATION
        for cmd in STACK_ACTIVATION[stack](host)
    ]


def rootfs(host: Host) -> FileMap:
    return merge(*(r(host) for r in renderers_for(host)))
