"""The registry's image package names (cloudbr.platforms uses them in its entries): what each
DIB element's generic package names are called on a platform. `make platforms` writes them
into the elements' pkg-map files."""

from __future__ import annotations

from cloudbr.platform_types import PackageNames

# Image packages: each element's generic names (its package-installs.yaml) and what they are
# called on the platform ("": not installed there).
HOST_PACKAGES = "cloud-init cloud-guest-utils ifupdown network-scripts iproute2 iputils-ping kmod "
HOST_PACKAGES += "procps qemu-kvm libvirt-daemon libvirt-clients"
LINUXBRIDGE_PACKAGES = "bridge-utils ifenslave vlan netplan resolver"
OVS_PACKAGES = "openvswitch ifupdown bridge-utils resolver"


def _names(generic: str, renamed: dict[str, str]) -> PackageNames:
    return tuple((g, renamed.get(g, g)) for g in generic.split())


def image_packages(
    host: dict[str, str], linuxbridge: dict[str, str], ovs: dict[str, str]
) -> tuple[tuple[str, PackageNames], ...]:
    return (
        ("cloudbr-kvm-host", _names(HOST_PACKAGES, host)),
        ("cloudbr-linuxbridge", _names(LINUXBRIDGE_PACKAGES, linuxbridge)),
        ("cloudbr-ovs", _names(OVS_PACKAGES, ovs)),
    )


DEB_HOST = {"network-scripts": "", "libvirt-daemon": "libvirt-daemon-system"}
DEB_LINUXBRIDGE = {"netplan": "netplan.io", "resolver": ""}
DEB_OVS = {"openvswitch": "openvswitch-switch", "resolver": ""}
# Debian/Ubuntu names: the pkg-map default for a release the registry does not know.
DEB_IMAGE_PACKAGES = image_packages(DEB_HOST, DEB_LINUXBRIDGE, DEB_OVS)
EL7_IMAGE_PACKAGES = image_packages(
    {
        "cloud-guest-utils": "cloud-utils-growpart",
        "ifupdown": "",
        "network-scripts": "initscripts",
        "iproute2": "iproute",
        "iputils-ping": "iputils",
        "procps": "procps-ng",
        "libvirt-daemon": "libvirt",
        "libvirt-clients": "libvirt-client",
    },
    {"ifenslave": "", "vlan": "", "netplan": "", "resolver": ""},
    {"ifupdown": "", "resolver": ""},
)
