"""Carriers transport a host's rendered tree to the machine: installer documents, the seed
ISO. Each takes the host and its finished rootfs file map and never re-derives network facts
from anything else than what the model states about identity and install settings."""

from __future__ import annotations

from collections.abc import Callable

from cloudbr.carriers import kickstart, preseed, seed_iso
from cloudbr.files import FileMap
from cloudbr.model import Family, Host

Carrier = Callable[[Host, FileMap], FileMap]


def carriers_for(host: Host) -> list[Carrier]:
    installer: Carrier = kickstart.render if host.distro.family is Family.RHEL else preseed.render
    return [installer, seed_iso.render]
