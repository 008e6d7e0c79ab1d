"""What each supported platform ships, in one place: the oldest version of every consumer a
host may run (the renderers must work with it) and what follows from those versions.

The versions are the oldest a supported install gets, read from each release's packages and
the consumers' sources at those versions:
- CentOS 7.9: Open vSwitch from RDO Train (2.12 or older), cloud-init 19.4, no netplan.
- Ubuntu 18.04: openvswitch 2.9.x (2.9.0 in the release pocket), netplan.io 0.36.1 in the
  release pocket and 0.99+ in bionic-updates: the preseed enables updates and installs
  netplan.io from there, and an image with cloud-init 23.1 (bionic's last, the oldest the
  seed supports) was built from updates; ifupdown 0.8, systemd-resolved owning
  /etc/resolv.conf, no resolvconf.
- Debian 12: openvswitch 3.1, netplan 0.106 (not installed by default), cloud-init 22.4,
  ifupdown 0.8.41 with resolvconf (installed by the preseed) for `dns-*` options.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudbr.model import Backend, Bond, BondMode, Distro, Host

Version = tuple[int, ...]

# other_config:bond-primary exists in OVS since 2.14 (vswitchd/vswitch.xml); older versions
# ignore the key silently.
OVS_BOND_PRIMARY: Version = (2, 14)
# Netplan's `link-local` key appeared in 0.39; 0.36 refuses the whole file on an unknown key.
NETPLAN_LINK_LOCAL: Version = (0, 39)
# openvswitch 2.9.0-2.9.2's ifupdown hook ran `ifup` on ${IFACE} instead of each bond member
# (debian/ifupdown.sh; fixed in 2.9.3): members need a stanza of their own to come up.
OVS_HOOK_UPS_MEMBERS: Version = (2, 9, 3)


@dataclass(frozen=True)
class Platform:
    ovs: Version
    cloud_init: Version
    # The netplan a host is guaranteed (None: netplan is not what its networking uses).
    netplan: Version | None
    # Whether ifupdown's dns-nameservers/dns-search reach the resolver: only through
    # resolvconf's ifupdown hook, which the platform's install must bring.
    eni_dns_reaches_resolver: bool

    @property
    def ovs_bond_primary(self) -> bool:
        return self.ovs >= OVS_BOND_PRIMARY

    @property
    def netplan_link_local(self) -> bool:
        return self.netplan is not None and self.netplan >= NETPLAN_LINK_LOCAL

    @property
    def ovs_hook_ups_members(self) -> bool:
        return self.ovs >= OVS_HOOK_UPS_MEMBERS


PLATFORMS: dict[Distro, Platform] = {
    Distro.CENTOS7: Platform(
        ovs=(2, 12), cloud_init=(19, 4), netplan=None, eni_dns_reaches_resolver=False
    ),
    Distro.UBUNTU1804: Platform(
        ovs=(2, 9, 0), cloud_init=(23, 1), netplan=(0, 99), eni_dns_reaches_resolver=False
    ),
    Distro.DEBIAN12: Platform(
        ovs=(3, 1), cloud_init=(22, 4), netplan=(0, 106), eni_dns_reaches_resolver=True
    ),
}


def platform(host: Host) -> Platform:
    return PLATFORMS[host.distro]


def ovs_bond_options(host: Host, bond: Bond) -> tuple[tuple[str, str], ...]:
    """The bond's OVS port options, less the keys the platform's OVS does not honour."""
    opts = bond.ovs_options()
    if platform(host).ovs_bond_primary:
        return opts
    return tuple((k, v) for k, v in opts if k != "other_config:bond-primary")


def warnings(host: Host) -> list[str]:
    """What the inventory asks that the host's platform cannot enforce."""
    out = []
    if host.backend is Backend.OVS and not platform(host).ovs_bond_primary:
        for bond in host.bonds:
            if bond.primary and bond.mode is BondMode.ACTIVE_BACKUP:
                have = ".".join(map(str, platform(host).ovs))
                out.append(
                    f"{host.hostname}: bond {bond.name}: primary {bond.primary} is not enforced: "
                    f"Open vSwitch {have} on {host.distro.value} has no bond-primary "
                    f"(OVS >= 2.14); the active member is whichever came up first"
                )
    return out
