"""The types of the platform registry (cloudbr.platforms holds the entries): what a platform
is made of, its network stacks, installer carriers and consumer versions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cloudbr.model import Backend, Distro, Family

Version = tuple[int, ...]

# other_config:bond-primary exists in OVS since 2.14 (vswitchd/vswitch.xml); older versions
# ignore the key silently.
OVS_BOND_PRIMARY: Version = (2, 14)
# Netplan's `link-local` key appeared in 0.39; 0.36 refuses the whole file on an unknown key.
NETPLAN_LINK_LOCAL: Version = (0, 39)
# openvswitch 2.9.0-2.9.2's ifupdown hook ran `ifup` on ${IFACE} instead of each bond member
# (debian/ifupdown.sh; fixed in 2.9.3): members need a stanza of their own to come up.
OVS_HOOK_UPS_MEMBERS: Version = (2, 9, 3)


class NetworkStack(StrEnum):
    """What writes and applies a backend's network configuration on the installed host."""

    IFCFG = "ifcfg"  # initscripts' network-scripts (the `network` service; ifup-ovs for OVS)
    NM_KEYFILE = "nm-keyfile"  # NetworkManager keyfiles (system-connections/*.nmconnection)
    NETPLAN = "netplan"  # netplan, rendered to systemd-networkd
    NETPLAN_OVS = "netplan-ovs"  # netplan's own openvswitch section (netplan >= 0.100)
    IFUPDOWN = "ifupdown"  # /etc/network/interfaces (Debian's OVS ifupdown hook for OVS)
    OVS_FIRSTBOOT = "ovs-firstboot"  # cloudbr's first-boot program builds the OVS topology


# Stacks whose tools read a VLAN's id and parent from its device name, and take any dotted
# name for a VLAN: ifupdown's vlan hook (`bond0.7` is VLAN 7 on bond0, whatever the file
# says) and initscripts' ifup (VID and PHYSDEV from DEVICE=<parent>.<id>).
VLAN_BY_NAME = frozenset({NetworkStack.IFCFG, NetworkStack.IFUPDOWN})
# ifcfg-<name> files that CentOS 7's `network` service never brings up (/etc/init.d/network
# drops `ifcfg-*-range` and the backup suffixes of __sed_discard_ignored_files).
IFCFG_SKIPPED_SUFFIXES = ("-range", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave")

# Stacks whose files cloud-init's own renderers (sysconfig, netplan, eni) write as faithfully
# from the seed's network-config v2: there cloud-init renders a linux-bridge host's network.
# Not NetworkManager keyfiles: cloud-init 23.4 (EL 9.4) renders with sysconfig by default
# (ifcfg files, which EL9 deprecates) and its NetworkManager renderer drops the bond's miimon
# and leaves IPv6 on; the seed carries the keyfiles themselves, with cloud-init's network off.
CLOUD_INIT_RENDERS: frozenset[NetworkStack] = frozenset(
    {NetworkStack.IFCFG, NetworkStack.NETPLAN, NetworkStack.IFUPDOWN}
)


class Resolver(StrEnum):
    """Where a DNS server must go to reach the platform's resolver when no ifup runs (the OVS
    first-boot program's dns step)."""

    RESOLVCONF = "resolvconf"  # resolvconf -a IFACE.inet, as ifupdown's resolvconf hook does
    RESOLVED = "resolved"  # systemd-resolved's per-link settings (resolvectl)
    FILE = "file"  # /etc/resolv.conf itself


class InstallerCarrier(StrEnum):
    KICKSTART = "kickstart"  # anaconda
    PRESEED = "preseed"  # debian-installer
    AUTOINSTALL = "autoinstall"  # subiquity (Ubuntu 20.04+), cloud-init user-data

    @property
    def pxe_boots(self) -> bool:
        """Whether `OUT/pxe/` builds boot entries for it (carriers.pxe.PARAMS has a builder
        for each of these; tests build the EL and Debian entries and refuse an autoinstall
        host). Subiquity needs the live ISO's URL, which the inventory has no field for."""
        return self is not InstallerCarrier.AUTOINSTALL


class KernelArgs(StrEnum):
    """How the installed system's kernel command line gets the host's arguments."""

    BOOTLOADER = "bootloader"  # the installer's bootloader line (kickstart `bootloader --append`)
    GRUB_DROPIN = "grub-dropin"  # /etc/default/grub.d/*.cfg in the tree, then update-grub


class CloudStackStatus(StrEnum):
    """The platform as a KVM host of Apache CloudStack 4.20."""

    SUPPORTED = "supported"
    NOT_TESTED = "not tested"
    DROPPED = "dropped"


@dataclass(frozen=True)
class Repo:
    name: str
    url: str


@dataclass(frozen=True)
class Installer:
    """The installer that installs the platform and how cloudbr speaks to it."""

    carrier: InstallerCarrier
    program: str  # in messages: "anaconda", "debian-installer", "subiquity"
    dialect: str  # kickstart: the pykickstart version; preseed/autoinstall: the suite
    mirror: str  # default install source
    # Default repositories next to the mirror, used only when the inventory sets no mirror.
    repos: tuple[Repo, ...] = ()
    ovs_repo: str | None = None  # where Open vSwitch comes from when the base has none
    # URL schemes the installer fetches its mirror and repositories with: debian-installer's
    # and anaconda's (whose nfs:// wants `host:/path`, which is no URL) by default.
    mirror_schemes: tuple[str, ...] = ("http://", "https://", "ftp://")
    # Ubuntu's archive: restricted/universe components and the security and updates pockets.
    ubuntu_archive: bool = False
    # The installer's kernel and initrd below a PXE server's tftp_root.
    pxe_kernel: str = ""
    pxe_initrd: str = ""


@dataclass(frozen=True)
class PerBackend:
    """A value for each backend."""

    linuxbridge: tuple[str, ...] = ()
    ovs: tuple[str, ...] = ()

    def __call__(self, backend: Backend) -> tuple[str, ...]:
        return self.ovs if backend is Backend.OVS else self.linuxbridge


@dataclass(frozen=True)
class Stacks:
    linuxbridge: tuple[NetworkStack, ...]
    ovs: tuple[NetworkStack, ...]

    def __call__(self, backend: Backend) -> tuple[NetworkStack, ...]:
        return self.ovs if backend is Backend.OVS else self.linuxbridge


# (generic name in an element's package-installs.yaml, the platform's package; "": none)
PackageNames = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Image:
    """What scripts/build-image.sh and the DIB elements need to build the platform's image
    (written into scripts/image-platforms.sh, the elements' pkg-map files and
    environment.d/50-cloudbr-platform.bash by `make platforms`)."""

    element: str  # DIB distribution element
    distro_name: str  # DIB's DISTRO_NAME
    release: str  # DIB_RELEASE
    mirror: str  # DIB_DISTRIBUTION_MIRROR default
    # Package names per cloudbr element (cloudbr-kvm-host, cloudbr-linuxbridge, cloudbr-ovs).
    packages: tuple[tuple[str, PackageNames], ...] = ()
    # What renders the seed's network-config on a linux bridge image (cloud-init renderer).
    cloud_init_renderer: str = ""
    # False: build-image.sh probes the sources and stops (the elements cannot build it yet).
    elements: bool = True
    services_enable: tuple[str, ...] = ()  # every image: the service that owns the network
    services_disable: tuple[str, ...] = ()  # every image: services that must not
    services_mask: tuple[str, ...] = ()
    ovs_units: tuple[str, ...] = ()  # OVS images: units to enable
    dib_pins: str = ""  # a pinned diskimage-builder (the current one dropped the platform)
    ovs_repo_path: str = ""  # OVS repository below the mirror, where the base has none

    def package_names(self, element: str) -> dict[str, str]:
        return dict(dict(self.packages)[element])


@dataclass(frozen=True)
class Platform:
    id: Distro
    name: str
    family: Family
    release: str
    stacks: Stacks  # per backend, in the order their renderers run
    installer: Installer
    kernel_args: KernelArgs
    cloudstack: CloudStackStatus
    # What the installer installs (beyond its base) and what it removes, per backend.
    packages: PerBackend
    purge: PerBackend
    # Services the installer enables and disables, per backend.
    enable: PerBackend
    disable: PerBackend
    ovs_service: str  # the unit that runs ovsdb-server and ovs-vswitchd
    # The platform's own network units, which the OVS first boot runs after.
    network_units: tuple[str, ...]
    # Consumer versions (None: not on the platform, or not what its networking uses).
    ovs: Version
    systemd: Version
    cloud_init: Version
    netplan: Version | None = None
    network_manager: Version | None = None
    # Whether ifupdown's dns-nameservers/dns-search reach the resolver: only through
    # resolvconf's ifupdown hook, which the platform's install must bring.
    eni_dns_reaches_resolver: bool = False
    resolver: Resolver = Resolver.FILE
    # The tree pins cloud-init (/etc/cloud/cloud.cfg.d): no network rendering on later boots,
    # no renaming of the host.
    cloud_init_settings: bool = False
    image: Image | None = None  # None: no DIB image build for this platform yet
    # Why a backend without network stacks is refused (`check` says it, naming the setting).
    refused: PerBackend = PerBackend()
    # cloudbr renders this platform; False: the schema accepts it, `check` refuses it.
    rendered: bool = False

    @property
    def ovs_bond_primary(self) -> bool:
        return self.ovs >= OVS_BOND_PRIMARY

    @property
    def netplan_link_local(self) -> bool:
        return self.netplan is not None and self.netplan >= NETPLAN_LINK_LOCAL

    @property
    def ovs_hook_ups_members(self) -> bool:
        return self.ovs >= OVS_HOOK_UPS_MEMBERS

    @property
    def backends(self) -> tuple[Backend, ...]:
        return tuple(b for b in Backend if self.stacks(b))
