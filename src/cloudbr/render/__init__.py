"""Rootfs renderers: pure functions from a resolved Host to the files it needs on disk.

One module per format. `rootfs(host)` picks the modules for the host's distro and backend
and merges their file maps; nothing here touches the filesystem.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudbr.files import FileMap, merge
from cloudbr.model import Backend, Distro, Family, Host
from cloudbr.render import common, debian_extras, eni, ifcfg, netplan, ovs_firstboot, verify

Renderer = Callable[[Host], FileMap]


def renderers_for(host: Host) -> list[Renderer]:
    out: list[Renderer] = [common.render, debian_extras.render, verify.render]
    if host.distro.family is Family.RHEL:
        out.append(ifcfg.render)
    elif host.distro is Distro.UBUNTU1804 and host.backend is Backend.LINUXBRIDGE:
        out.append(netplan.render)
    else:
        out.append(eni.render)
    if host.backend is Backend.OVS:
        out.append(ovs_firstboot.render)
    return out


def rootfs(host: Host) -> FileMap:
    return merge(*(r(host) for r in renderers_for(host)))
