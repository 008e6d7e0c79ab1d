"""Carriers transport a host's rendered tree to the machine: installer documents, the seed
ISO. Each takes the host and its finished rootfs file map and never re-derives network facts
from anything else than what the model states about identity and install settings; they
handle the tree's files by their role (`cloudbr.files.Role`)."""

from __future__ import annotations

from collections.abc import Callable

from cloudbr.carriers import kickstart, preseed, seed_iso
from cloudbr.files import FileMap
from cloudbr.model import Host
from cloudbr.platform_types import InstallerCarrier
from cloudbr.platforms import platform

Carrier = Callable[[Host, FileMap], FileMap]

# The platform's installer -> the carrier that writes its document. One line per installer.
INSTALLER_CARRIERS: dict[InstallerCarrier, Carrier] = {
    InstallerCarrier.KICKSTART: kickstart.render,
    InstallerCarrier.PRESEED: preseed.render,
}


def carriers_for(host: Host) -> list[Carrier]:
    return [INSTALLER_CARRIERS[platform(host).installer.carrier], seed_iso.render]
