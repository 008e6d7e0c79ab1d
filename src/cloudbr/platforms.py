"""The platform registry: one frozen `Platform` per distro id, and the only place in cloudbr
that knows what a distro is. Renderers and carriers ask a host's platform for facts and
features (`platform(host).ovs >= (2, 14)`, its network stacks, its installer) and never name
a distro. A new platform is one entry here plus the renderers and carrier its stacks need
(`cloudbr.render.STACK_RENDERERS`, `cloudbr.carriers.INSTALLER_CARRIERS`), then `rendered=True`.

Consumer versions are the oldest a supported install gets (the renderers must work with it),
read from each release's packages and the consumers' sources at those versions:
- CentOS 7.9: Open vSwitch from RDO Train (2.12 or older), cloud-init 19.4, systemd 219,
  NetworkManager 1.18 (disabled), no netplan.
- EL8: NetworkManager 1.40 (8.7+), Open vSwitch 2.17 from the NFV SIG (3.1 later), systemd
  239, cloud-init 23.4. EL9: NetworkManager 1.42.2 (9.2), Open vSwitch 3.1 from the NFV SIG,
  systemd 252, cloud-init 23.4. No netplan; EL9 has no initscripts' ifcfg.
- Ubuntu 18.04: openvswitch 2.9.x (2.9.0 in the release pocket), netplan.io 0.36.1 in the
  release pocket and 0.99+ in bionic-updates: the preseed enables updates and installs
  netplan.io from there, and an image with cloud-init 23.1 (bionic's last, the oldest the
  seed supports) was built from updates; ifupdown 0.8, systemd 237 with systemd-resolved
  owning /etc/resolv.conf, no resolvconf.
- Ubuntu 20.04: netplan 0.99 (release pocket; 0.104 in focal-updates), openvswitch 2.13,
  systemd 245, cloud-init 20.1. 22.04: netplan 0.104 (0.106 in jammy-updates), openvswitch
  2.17, systemd 249, cloud-init 22.1. 24.04: netplan 1.0, openvswitch 3.3, systemd 255,
  cloud-init 24.1.
- Debian 12: openvswitch 3.1, netplan 0.106 (not installed by default), cloud-init 22.4,
  systemd 252, ifupdown 0.8.41 with resolvconf (installed by the preseed) for `dns-*` options.

CloudStack 4.20's compatibility matrix lists EL8/EL9 and Ubuntu 20.04/22.04/24.04 KVM hosts,
Debian 12 as "not tested", and dropped CentOS 7 and Ubuntu 18.04.
"""

from __future__ import annotations

from cloudbr.model import Backend, Bond, BondMode, Distro, Family, Host
from cloudbr.platform_images import (
    DEB_HOST,
    DEB_IMAGE_PACKAGES,
    DEB_LINUXBRIDGE,
    DEB_OVS,
    EL7_IMAGE_PACKAGES,
    image_packages,
)
from cloudbr.platform_types import (
    CloudStackStatus,
    Image,
    Installer,
    InstallerCarrier,
    KernelArgs,
    NetworkStack,
    PerBackend,
    Platform,
    Repo,
    Resolver,
    Stacks,
)

S = NetworkStack
UBUNTU_ARCHIVE = "http://archive.ubuntu.com/ubuntu"
DEBIAN_ARCHIVE = "http://deb.debian.org/debian"
CENTOS7_VAULT = "https://vault.centos.org/7.9.2009"
DEBIAN_PACKAGES = PerBackend(
    linuxbridge=("openssh-server", "ifupdown", "ifenslave", "bridge-utils", "resolvconf"),
    ovs=("openssh-server", "ifupdown", "openvswitch-switch", "resolvconf"),
)
# EL: NetworkManager owns the network; Open vSwitch from the CentOS NFV SIG.
EL_STACKS = Stacks(linuxbridge=(S.NM_KEYFILE,), ovs=(S.NM_KEYFILE, S.OVS_FIRSTBOOT))
EL_ENABLE = PerBackend(linuxbridge=("NetworkManager",), ovs=("NetworkManager", "openvswitch"))
# Ubuntu 20.04+: netplan owns the network, Open vSwitch included.
UBUNTU_STACKS = Stacks(linuxbridge=(S.NETPLAN,), ovs=(S.NETPLAN_OVS,))
UBUNTU_PACKAGES = PerBackend(
    linuxbridge=("openssh-server", "bridge-utils"), ovs=("openssh-server", "openvswitch-switch")
)


def _el(release: str, name: str, ovs_package: str, **versions: tuple[int, ...]) -> Platform:
    base = f"https://dl.rockylinux.org/pub/rocky/{release}"
    return Platform(
        id=Distro(f"el{release}"),
        name=name,
        family=Family.RHEL,
        release=release,
        stacks=EL_STACKS,
        installer=Installer(
            carrier=InstallerCarrier.KICKSTART,
            program="anaconda",
            dialect=f"RHEL{release}",
            mirror=f"{base}/BaseOS/x86_64/os/",
            repos=(Repo("appstream", f"{base}/AppStream/x86_64/os/"),),
            ovs_repo=f"https://mirror.stream.centos.org/SIGs/{release}-stream/nfv/x86_64/openvswitch-2/",
            pxe_kernel=f"installers/el{release}/vmlinuz",
            pxe_initrd=f"installers/el{release}/initrd.img",
        ),
        kernel_args=KernelArgs.BOOTLOADER,
        cloudstack=CloudStackStatus.SUPPORTED,
        # No NetworkManager-ovs: NetworkManager leaves the OVS devices alone (render.nm_keyfile).
        packages=PerBackend(linuxbridge=("NetworkManager",), ovs=("NetworkManager", ovs_package)),
        purge=PerBackend(),
        enable=EL_ENABLE,
        disable=PerBackend(),
        ovs_service="openvswitch.service",
        network_units=("NetworkManager.service",),
        ovs=versions["ovs"],
        systemd=versions["systemd"],
        cloud_init=(23, 4),
        network_manager=versions["network_manager"],
        # DIB's rhel element on a GenericCloud image (Rocky's by default); the elements do
        # not install NetworkManager's keyfile stack yet.
        image=Image("rhel", "rhel", release, "https://dl.rockylinux.org/pub/rocky", elements=False),
        rendered=True,
    )


# 20.04: no Open vSwitch. Its netplan 0.99 (what installs and images start from) has no
# `openvswitch:` (0.100+); focal-updates' netplan would hold only where it was upgraded.
FOCAL_NO_OVS = (
    "Ubuntu 20.04 ships netplan 0.99, which has no Open vSwitch support (netplan >= 0.100): "
    "use backend linuxbridge, or ubuntu2204/ubuntu2404 for Open vSwitch"
)


def _ubuntu(
    release: str, codename: str, stacks: Stacks = UBUNTU_STACKS, **versions: tuple[int, ...]
) -> Platform:
    ident = "ubuntu" + release.replace(".", "")
    return Platform(
        id=Distro(ident),
        name=f"Ubuntu {release}",
        family=Family.DEBIAN,
        resolver=Resolver.RESOLVED,
        release=release,
        stacks=stacks,
        installer=Installer(
            carrier=InstallerCarrier.AUTOINSTALL,
            program="subiquity",
            dialect=codename,
            mirror=UBUNTU_ARCHIVE,
            mirror_schemes=("http://", "https://"),  # apt sources the installed system keeps
            ubuntu_archive=True,
            pxe_kernel=f"installers/{ident}/vmlinuz",
            pxe_initrd=f"installers/{ident}/initrd",
        ),
        kernel_args=KernelArgs.GRUB_DROPIN,
        cloudstack=CloudStackStatus.SUPPORTED,
        packages=UBUNTU_PACKAGES,
        purge=PerBackend(),
        enable=PerBackend(),
        disable=PerBackend(),
        ovs_service="openvswitch-switch.service",
        network_units=("systemd-networkd.service",),
        ovs=versions["ovs"],
        systemd=versions["systemd"],
        cloud_init=versions["cloud_init"],
        netplan=versions["netplan"],
        cloud_init_settings=True,
        image=Image(
            "ubuntu-minimal",
            "ubuntu",
            codename,
            UBUNTU_ARCHIVE,
            packages=DEB_IMAGE_PACKAGES,
            cloud_init_renderer="netplan",
            ovs_units=("openvswitch-switch.service",),
        ),
        refused=PerBackend(ovs=() if stacks.ovs else (FOCAL_NO_OVS,)),
        rendered=True,
    )


_ALL = (
    Platform(
        id=Distro.CENTOS7,
        name="CentOS 7",
        family=Family.RHEL,
        release="7",
        stacks=Stacks(linuxbridge=(S.IFCFG,), ovs=(S.IFCFG, S.OVS_FIRSTBOOT)),
        installer=Installer(
            carrier=InstallerCarrier.KICKSTART,
            program="anaconda",
            dialect="RHEL7",
            # CentOS 7 is EOL: the old mirror network is gone, the vault stays.
            mirror=f"{CENTOS7_VAULT}/os/x86_64/",
            repos=(Repo("updates", f"{CENTOS7_VAULT}/updates/x86_64/"),),
            # Not in CentOS 7's own repositories: the Cloud SIG's (RDO Train) openvswitch,
            # which ships OVS's ifup-ovs for the `network` service.
            ovs_repo=f"{CENTOS7_VAULT}/cloud/x86_64/openstack-train/",
            pxe_kernel="installers/centos7/vmlinuz",
            pxe_initrd="installers/centos7/initrd.img",
        ),
        kernel_args=KernelArgs.BOOTLOADER,
        cloudstack=CloudStackStatus.DROPPED,
        packages=PerBackend(linuxbridge=("bridge-utils",), ovs=("openvswitch",)),
        purge=PerBackend(),
        # The `network` service (initscripts) owns the ifcfg files, not NetworkManager.
        enable=PerBackend(linuxbridge=("network",), ovs=("network", "openvswitch")),
        disable=PerBackend(linuxbridge=("NetworkManager",), ovs=("NetworkManager",)),
        ovs_service="openvswitch.service",
        network_units=("network.service", "NetworkManager.service"),
        ovs=(2, 12),
        systemd=(219,),
        cloud_init=(19, 4),
        network_manager=(1, 18),
        image=Image(
            "centos",
            "centos",
            "7",
            "http://vault.centos.org/centos",
            packages=EL7_IMAGE_PACKAGES,
            cloud_init_renderer="sysconfig",
            # The seed's ifcfg files are for the legacy network service: NetworkManager must
            # not manage (or DHCP) the bond members.
            services_enable=("network.service",),
            services_disable=("NetworkManager.service",),
            services_mask=("NetworkManager-wait-online.service",),
            ovs_units=("openvswitch.service",),
            # The last diskimage-builder that builds CentOS 7 (3.34.0 dropped it), with the
            # flake8 it accepts.
            dib_pins="diskimage-builder==3.33.0 flake8==6.1.0 pycodestyle==2.11.1 pyflakes==3.1.0",
            ovs_repo_path="7/cloud/x86_64/openstack-train/",
        ),
        rendered=True,
    ),
    _el(
        "8",
        "Enterprise Linux 8",
        "openvswitch2.17",
        ovs=(2, 17),
        systemd=(239,),
        network_manager=(1, 40),
    ),
    _el(
        "9",
        "Enterprise Linux 9",
        "openvswitch3.1",
        ovs=(3, 1),
        systemd=(252,),
        network_manager=(1, 42, 2),
    ),
    Platform(
        id=Distro.UBUNTU1804,
        name="Ubuntu 18.04",
        family=Family.DEBIAN,
        resolver=Resolver.RESOLVED,
        release="18.04",
        # Netplan cannot express OVS bonds and fake bridges: ifupdown and the first boot do.
        stacks=Stacks(linuxbridge=(S.NETPLAN,), ovs=(S.IFUPDOWN, S.OVS_FIRSTBOOT)),
        installer=Installer(
            carrier=InstallerCarrier.PRESEED,
            program="debian-installer",
            dialect="bionic",
            mirror=UBUNTU_ARCHIVE,
            ubuntu_archive=True,
            pxe_kernel="installers/ubuntu1804/linux",
            pxe_initrd="installers/ubuntu1804/initrd.gz",
        ),
        kernel_args=KernelArgs.GRUB_DROPIN,
        cloudstack=CloudStackStatus.DROPPED,
        # networkd builds the bonds and bridges from netplan; brctl is for the operator.
        # netplan.io from bionic-updates (0.99+): the release pocket's 0.36.1 has no
        # `link-local` (0.39) and refuses the whole file.
        packages=PerBackend(
            linuxbridge=("openssh-server", "bridge-utils", "netplan.io"),
            ovs=("openssh-server", "ifupdown", "openvswitch-switch"),
        ),
        # bionic's nplan is a transitional package depending on netplan.io: purged with it.
        purge=PerBackend(ovs=("netplan.io",)),
        enable=PerBackend(),
        disable=PerBackend(),
        ovs_service="openvswitch-switch.service",
        network_units=("networking.service", "systemd-networkd.service"),
        ovs=(2, 9, 0),
        systemd=(237,),
        cloud_init=(23, 1),
        netplan=(0, 99),
        cloud_init_settings=True,
        image=Image(
            "ubuntu-minimal",
            "ubuntu",
            "bionic",
            UBUNTU_ARCHIVE,
            packages=DEB_IMAGE_PACKAGES,
            cloud_init_renderer="netplan",
            ovs_units=("openvswitch-switch.service", "networking.service"),
        ),
        rendered=True,
    ),
    _ubuntu(
        "20.04",
        "focal",
        Stacks(linuxbridge=(S.NETPLAN,), ovs=()),
        ovs=(2, 13),
        systemd=(245,),
        cloud_init=(20, 1),
        netplan=(0, 99),
    ),
    _ubuntu("22.04", "jammy", ovs=(2, 17), systemd=(249,), cloud_init=(22, 1), netplan=(0, 104)),
    _ubuntu("24.04", "noble", ovs=(3, 3), systemd=(255,), cloud_init=(24, 1), netplan=(1, 0)),
    Platform(
        id=Distro.DEBIAN12,
        name="Debian 12",
        family=Family.DEBIAN,
        release="12",
        stacks=Stacks(linuxbridge=(S.IFUPDOWN,), ovs=(S.IFUPDOWN, S.OVS_FIRSTBOOT)),
        installer=Installer(
            carrier=InstallerCarrier.PRESEED,
            program="debian-installer",
            dialect="bookworm",
            mirror=DEBIAN_ARCHIVE,
            pxe_kernel="installers/debian12/linux",
            pxe_initrd="installers/debian12/initrd.gz",
        ),
        kernel_args=KernelArgs.GRUB_DROPIN,
        cloudstack=CloudStackStatus.NOT_TESTED,
        # Debian's ifupdown hands dns-nameservers/dns-search to resolvconf only.
        packages=DEBIAN_PACKAGES,
        purge=PerBackend(),
        enable=PerBackend(),
        disable=PerBackend(),
        ovs_service="openvswitch-switch.service",
        network_units=("networking.service", "systemd-networkd.service"),
        ovs=(3, 1),
        systemd=(252,),
        cloud_init=(22, 4),
        netplan=(0, 106),
        eni_dns_reaches_resolver=True,
        resolver=Resolver.RESOLVCONF,
        cloud_init_settings=True,
        image=Image(
            "debian-minimal",
            "debian",
            "bookworm",
            DEBIAN_ARCHIVE,
            # systemd-resolved is a package of its own on Debian 12 (it applies the seed's
            # nameservers); resolvconf makes ifupdown's dns-* options reach resolv.conf.
            packages=image_packages(
                {**DEB_HOST, "qemu-kvm": "qemu-system-x86"},
                {**DEB_LINUXBRIDGE, "resolver": "systemd-resolved"},
                {**DEB_OVS, "resolver": "resolvconf"},
            ),
            cloud_init_renderer="netplan",
            ovs_units=("openvswitch-switch.service", "networking.service"),
        ),
        rendered=True,
    ),
)

PLATFORMS: dict[Distro, Platform] = {p.id: p for p in _ALL}
DEFAULT = Distro.CENTOS7  # a host's distro when neither it nor the site names one


def get(distro: Distro) -> Platform:
    return PLATFORMS[distro]


def platform(host: Host) -> Platform:
    return PLATFORMS[host.distro]


def rendered() -> tuple[Platform, ...]:
    """The platforms cloudbr renders, in registry order."""
    return tuple(p for p in _ALL if p.rendered)


def ovs_bond_options(host: Host, bond: Bond) -> tuple[tuple[str, str], ...]:
    """The bond's OVS port options, less the keys the platform's OVS does not honour."""
    opts = bond.ovs_options()
    if platform(host).ovs_bond_primary:
        return opts
    return tuple((k, v) for k, v in opts if k != "other_config:bond-primary")


def warnings(host: Host) -> list[str]:
    """What the inventory asks that the host's platform cannot enforce."""
    out = []
    p = platform(host)
    if host.backend is Backend.OVS and not p.ovs_bond_primary:
        for bond in host.bonds:
            if bond.primary and bond.mode is BondMode.ACTIVE_BACKUP:
                have = ".".join(map(str, p.ovs))
                out.append(
                    f"{host.hostname}: bond {bond.name}: primary {bond.primary} is not enforced: "
                    f"Open vSwitch {have} on {host.distro.value} has no bond-primary "
                    f"(OVS >= 2.14); the active member is whichever came up first"
                )
    if S.NETPLAN_OVS in p.stacks(host.backend):
        out += _netplan_ovs_warnings(host)
    return out


def _netplan_ovs_warnings(host: Host) -> list[str]:
    out = []  # Port columns `ovs-vsctl add-bond` has and netplan's openvswitch section has not
    for bond in host.bonds:
        delays = (("updelay", bond.updelay), ("downdelay", bond.downdelay))
        unset = [f"{name} {value}" for name, value in delays if value]
        if unset:
            out.append(
                f"{host.hostname}: bond {bond.name}: {', '.join(unset)} is not enforced: "
                f"netplan cannot set an Open vSwitch bond's bond_updelay/bond_downdelay"
            )
    return out
