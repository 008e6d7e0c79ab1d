"""Every validation rule, with the exact line an operator sees (FILE:LINE:COL: path: message)."""

from __future__ import annotations

import ctypes
import subprocess
import textwrap
from pathlib import Path
from textwrap import dedent as dd

import pytest

from cloudbr.inventory import InventoryError, parse_inventory, xkb
from cloudbr.model import Backend, BondMode, DeviceKind, Uplink
from tests.support import keys as keys_like

SITE = """\
site:
  domain: mylab.local
  dns: {servers: [192.168.100.5], search: [mycloud.local]}
"""


def errors(doc: str) -> list[str]:
    with pytest.raises(InventoryError) as exc:
        parse_inventory(textwrap.dedent(doc), "inv.yaml")
    return exc.value.lines


def one_error(doc: str) -> str:
    lines = errors(doc)
    assert len(lines) == 1, lines
    return lines[0]


def host(body: str, site: str = SITE) -> str:
    """A document with one host; `body` is the host's keys after `hostname`."""
    return (
        site + "hosts:\n  - hostname: kvmhost1\n" + textwrap.indent(textwrap.dedent(body), "    ")
    )


OK_HOST = "address: 192.168.100.20/24\ngateway: 192.168.100.1\n"


def test_reference_host_is_valid() -> None:
    inv = parse_inventory(host(OK_HOST + "storage_address: 10.0.100.20/24\n"), "inv.yaml")
    (h,) = inv.hosts
    assert h.fqdn == "kvmhost1.mylab.local"
    assert [b.name for b in h.bonds] == ["bond0", "bond1"]
    assert h.bond("bond0").mode is BondMode.ACTIVE_BACKUP
    assert h.bond("bond0").miimon == 100
    assert h.bond("bond0").primary == "eth0"
    assert [b.uplink for b in h.bridges] == [
        Uplink("bond0", DeviceKind.BOND),
        Uplink("bond1", DeviceKind.BOND),
        Uplink("bond0.100", DeviceKind.VLAN),
    ]
    assert [b.name for b in h.bridges] == ["cloudbr0", "cloudbr1", "cloudbr100"]
    (vlan,) = h.vlans
    assert (vlan.id, vlan.name, vlan.device, vlan.parent_bridge) == (
        100,
        "bond0.100",
        Uplink("bond0", DeviceKind.BOND),
        "cloudbr0",
    )
    assert h.traffic_labels.storage == "cloudbr100"
    assert str(h.gateway4) == "192.168.100.1"
    assert h.bridge("cloudbr0").dns.search == ("mycloud.local",)
    assert h.backend is Backend.LINUXBRIDGE
    assert h.legacy_nic_names


# (name, document, the exact error line)
CASES: list[tuple[str, str, str]] = [
    (
        "unknown key with suggestion",
        host(OK_HOST + "adress: 192.168.100.21/24\n"),
        "inv.yaml:8:5: hosts[0].adress: unknown key 'adress' (did you mean 'address'?)",
    ),
    (
        "unknown site key",
        "site:\n  bakend: ovs\nhosts:\n  - hostname: a\n    address: 192.168.100.20/24\n",
        "inv.yaml:2:3: site.bakend: unknown key 'bakend' (did you mean 'backend'?)",
    ),
    (
        "wrong type",
        host(OK_HOST + "ipv6: maybe\n"),
        "inv.yaml:8:11: hosts[0].ipv6: Input should be a valid boolean (got 'maybe')",
    ),
    (
        "invalid IP",
        host("address: 192.168.300.20/24\n"),
        "inv.yaml:6:14: hosts[0].address: '192.168.300.20/24': Octet 300 (> 255) not permitted in '192.168.300.20'",
    ),
    (
        "non-contiguous netmask",
        host("address: 192.168.100.20/255.255.155.0\n"),
        "inv.yaml:6:14: hosts[0].address: '192.168.100.20/255.255.155.0': '255.255.155.0' is not a valid netmask",
    ),
    (
        "prefix out of range",
        host("address: 192.168.100.20/33\n"),
        "inv.yaml:6:14: hosts[0].address: '192.168.100.20/33': '33' is not a valid netmask",
    ),
    (
        "missing prefix",
        host("address: 192.168.100.20\n"),
        "inv.yaml:6:14: hosts[0].address: '192.168.100.20' has no prefix length (write e.g. 192.168.100.20/24)",
    ),
    (
        "network address as host address",
        host("address: 192.168.100.0/24\n"),
        "inv.yaml:6:14: hosts[0].address: 192.168.100.0 is the network address of 192.168.100.0/24, not a host address",
    ),
    (
        "gateway outside subnet",
        host("address: 192.168.100.20/24\ngateway: 192.168.10.1\n"),
        "inv.yaml:7:14: hosts[0].gateway: gateway 192.168.10.1 is outside the subnet of 'cloudbr0' (192.168.100.0/24)",
    ),
    (
        "gateway is own address",
        host("address: 192.168.100.20/24\ngateway: 192.168.100.20\n"),
        "inv.yaml:7:14: hosts[0].gateway: gateway 192.168.100.20 is the host's own address",
    ),
    (
        "two default gateways",
        host(
            OK_HOST
            + dd("""\
            topology:
              nics: [{name: eth0}, {name: eth1}]
              bonds: []
              bridges:
                - {name: cloudbr0, uplink: eth0}
                - {name: cloudbr1, uplink: eth1, addresses: [10.1.1.2/24], gateway: 10.1.1.1}
            """)
        ),
        "inv.yaml:7:14: hosts[0].gateway: more than one IPv4 default gateway (cloudbr0, cloudbr1); a host has one per family",
    ),
    (
        "NIC in two bonds",
        host(
            OK_HOST
            + dd("""\
            topology:
              bonds:
                - {name: bond0, members: [eth0, eth1]}
                - {name: bond1, members: [eth1, eth2]}
            """)
        ),
        "inv.yaml:11:35: hosts[0].topology.bonds[1].members[0]: NIC 'eth1' is already a member of bond 'bond0'",
    ),
    (
        "NIC both bond member and bridge uplink",
        host(
            OK_HOST
            + dd("""\
            topology:
              bonds: [{name: bond0, members: [eth0, eth1]}]
              bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: eth1}]
            """)
        ),
        "inv.yaml:10:75: hosts[0].topology.bridges[1].uplink: NIC 'eth1' is a bond member and cannot also be a bridge uplink",
    ),
    (
        "undefined bond member",
        host(
            OK_HOST
            + dd("""\
            topology:
              bonds: [{name: bond0, members: [eth0, eth7]}, {name: bond1, members: [eth2, eth3]}]
            """)
        ),
        "inv.yaml:9:45: hosts[0].topology.bonds[0].members[1]: bond member 'eth7' is not a NIC defined in 'nics'",
    ),
    (
        "OVS bond with one member",
        host(
            OK_HOST
            + dd("""\
            backend: ovs
            topology:
              bonds: [{name: bond0, members: [eth0]}]
              bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: eth2}]
            """)
        ),
        "inv.yaml:10:38: hosts[0].topology.bonds[0].members: an Open vSwitch bond needs at least two "
        "members, 'bond0' has 1 (use the NIC as the bridge uplink instead)",
    ),
    (
        "bond mode invalid for OVS",
        host(OK_HOST + "backend: ovs\nbond: {mode: 802.3ad}\n"),
        "inv.yaml:9:18: hosts[0].bond.mode: bond mode '802.3ad' is not available on Open vSwitch "
        "(use active-backup, balance-slb, or balance-tcp for LACP)",
    ),
    (
        "OVS-only mode on linux bridge",
        host(OK_HOST + "bond: {mode: balance-tcp}\n"),
        "inv.yaml:8:18: hosts[0].bond.mode: bond mode 'balance-tcp' exists only on Open vSwitch (linux "
        "bonding modes: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb)",
    ),
    (
        "unknown bond mode",
        host(OK_HOST + "bond: {mode: mode4}\n"),
        "inv.yaml:8:18: hosts[0].bond.mode: Input should be 'balance-rr', 'active-backup', 'balance-xor', "
        "'broadcast', '802.3ad', 'balance-tlb', 'balance-alb', 'balance-slb' or 'balance-tcp' (got 'mode4')",
    ),
    (
        "lacp rate without 802.3ad",
        host(OK_HOST + "bond: {mode: active-backup, lacp_rate: fast}\n"),
        "inv.yaml:8:44: hosts[0].bond.lacp_rate: lacp_rate needs mode 802.3ad, not active-backup",
    ),
    (
        "miimon zero",
        host(OK_HOST + "bond: {miimon: 0}\n"),
        "inv.yaml:8:20: hosts[0].bond.miimon: miimon 0 turns link monitoring off: the bond would never fail over",
    ),
    (
        "updelay not a multiple of miimon",
        host(OK_HOST + "bond: {miimon: 100, updelay: 150}\n"),
        "inv.yaml:8:34: hosts[0].bond.updelay: updelay 150 must be a multiple of miimon 100 (the kernel would silently round it down)",
    ),
    (
        "primary not a member",
        host(
            OK_HOST
            + dd("""\
            topology:
              bonds: [{name: bond0, members: [eth0, eth1], primary: eth2}, {name: bond1, members: [eth2, eth3]}]
            """)
        ),
        "inv.yaml:9:61: hosts[0].topology.bonds[0].primary: primary 'eth2' is not a member of 'bond0'",
    ),
    (
        "VLAN id out of range",
        host(OK_HOST + "storage_address: 10.0.100.20/24\nstorage: {vlan: 4095}\n"),
        "inv.yaml:9:21: hosts[0].storage.vlan: Input should be less than or equal to 4094 (got 4095)",
    ),
    (
        "VLAN id zero",
        host(
            OK_HOST
            + dd("""\
            topology:
              vlans: [{id: 0, parent: bond0, bridge: cloudbr5}]
            """)
        ),
        "inv.yaml:9:20: hosts[0].topology.vlans[0].id: Input should be greater than or equal to 1 (got 0)",
    ),
    (
        "interface name too long",
        host(
            OK_HOST
            + dd("""\
            topology:
              bridges: [{name: cloudbr-management, uplink: bond0}, {name: cloudbr1, uplink: bond1}]
            """)
        ),
        "inv.yaml:9:24: hosts[0].topology.bridges[0].name: interface name 'cloudbr-management' is 18 "
        "characters long; Linux allows at most 15 (IFNAMSIZ)",
    ),
    (
        "generated VLAN name too long",
        host(
            OK_HOST
            + dd("""\
            storage_address: 10.0.100.20/24
            topology:
              nics: [{name: enp129s0f0np0}, {name: enp129s0f1np1}]
              bonds: []
              bridges: [{name: cloudbr0, uplink: enp129s0f0np0}, {name: cloudbr1, uplink: enp129s0f1np1}]
            storage: {parent: enp129s0f0np0}
            """)
        ),
        "inv.yaml:13:14: hosts[0].storage: VLAN device name 'enp129s0f0np0.100' is 17 characters long; "
        "Linux allows at most 15 (IFNAMSIZ): shorten 'enp129s0f0np0' or set 'name'",
    ),
    (
        "bad characters in a name",
        host(
            OK_HOST
            + dd("""\
            topology:
              bridges: [{name: "br$(reboot)", uplink: bond0}, {name: cloudbr1, uplink: bond1}]
            traffic_labels: {management: cloudbr1, guest: cloudbr1}
            """)
        ),
        "inv.yaml:9:24: hosts[0].topology.bridges[0].name: interface name 'br$(reboot)' may only contain "
        "letters, digits, '_', '.', '-'",
    ),
    (
        "bridge port CloudStack does not recognise",
        host(
            OK_HOST
            + dd("""\
            topology:
              nics: [{name: eth0}, {name: eth1}, {name: wlan0}]
              bonds: [{name: bond0, members: [eth0, eth1]}]
              bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: wlan0}]
            """)
        ),
        "inv.yaml:11:75: hosts[0].topology.bridges[1].uplink: uplink 'wlan0' has a name CloudStack's KVM "
        "agent does not recognise as a bridge port (use eth*, bond*, vlan*, em*, ens*, eno*, enp*, enx*, "
        "team* or pNpN)",
    ),
    (
        "traffic label naming no bridge",
        host(OK_HOST + "traffic_labels: {public: cloudbr9}\n"),
        "inv.yaml:8:30: hosts[0].traffic_labels.public: public traffic label 'cloudbr9' names no bridge "
        "of this host (bridges: cloudbr0, cloudbr1)",
    ),
    (
        "child MTU above parent",
        host(
            OK_HOST
            + dd("""\
            topology:
              nics: [{name: eth0, mtu: 1500}, {name: eth1, mtu: 1500}]
              bonds: [{name: bond0, members: [eth0, eth1], mtu: 9000}]
              bridges: [{name: cloudbr0, uplink: bond0}]
            traffic_labels: {public: cloudbr0}
            """)
        ),
        "inv.yaml:10:57: hosts[0].topology.bonds[0].mtu: MTU 9000 of 'bond0' is above the MTU 1500 of its parent 'eth0'",
    ),
    (
        "IPv6 below 1280",
        host(
            dd("""\
            address6: 2001:db8::20/64
            topology:
              nics: [{name: eth0, mtu: 1000}, {name: eth1, mtu: 1000}]
              bonds: [{name: bond0, members: [eth0, eth1], mtu: 1000}]
              bridges: [{name: cloudbr0, uplink: bond0}]
            traffic_labels: {public: cloudbr0}
            """),
            site=SITE + "  ipv6: true\n",
        ),
        "inv.yaml:11:17: hosts[0].topology.bridges[0]: bridge 'cloudbr0' carries IPv6 (2001:db8::20/64) with an MTU of 1000 (that of 'bond0' below it): IPv6 needs at least 1280 (RFC 8200), and the kernel takes IPv6 off a device below it",
    ),
    (
        "hostname not a DNS name",
        SITE + "hosts:\n  - hostname: kvm_host1\n    address: 192.168.100.20/24\n",
        "inv.yaml:5:15: hosts[0].hostname: 'kvm_host1' is not a valid DNS name (labels of letters, digits "
        "and '-', 1-63 characters, not starting or ending with '-')",
    ),
    (
        "hostname given as FQDN",
        SITE + "hosts:\n  - hostname: kvmhost1.mylab.local\n    address: 192.168.100.20/24\n",
        "inv.yaml:5:15: hosts[0].hostname: hostname 'kvmhost1.mylab.local' must be the short name; put "
        "the rest in 'domain' (the FQDN is hostname.domain)",
    ),
    (
        "MAC malformed",
        host(OK_HOST + "macs: {eth0: 52:54:00:12:34}\n"),
        "inv.yaml:8:18: hosts[0].macs.eth0: '52:54:00:12:34' is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)",
    ),
    (
        "MAC for an unknown NIC",
        host(OK_HOST + "macs: {eth9: 52:54:00:12:34:56}\n"),
        "inv.yaml:8:12: hosts[0].macs.eth9: no NIC named 'eth9' in the topology (NICs: eth0, eth1, eth2, eth3)",
    ),
    (
        "IPv6 address with IPv6 off",
        host(OK_HOST + "address6: 2001:db8::20/64\n"),
        "inv.yaml:8:15: hosts[0].address6: 2001:db8::20/64 is an IPv6 address but IPv6 is disabled for this host (ipv6: false)",
    ),
    (
        "plaintext password",
        host(OK_HOST + "access: {root_password_hash: secret}\n"),
        "inv.yaml:8:34: hosts[0].access.root_password_hash: must be a SHA-512 crypt hash ($6$salt$hash, "
        "e.g. from `openssl passwd -6`); plaintext passwords are refused",
    ),
    (
        "reserved name cloud0",
        host(
            OK_HOST
            + dd("""\
            topology:
              bridges: [{name: cloud0, uplink: bond0}, {name: cloudbr1, uplink: bond1}]
            traffic_labels: {management: cloudbr1, guest: cloudbr1}
            """)
        ),
        "inv.yaml:9:24: hosts[0].topology.bridges[0].name: interface name 'cloud0' is reserved (cloud0 "
        "belongs to CloudStack)",
    ),
    (
        "duplicate YAML key",
        host(OK_HOST + "gateway: 192.168.100.2\n"),
        "inv.yaml:8:5: hosts[0].gateway: duplicate key 'gateway' (the earlier value would be lost)",
    ),
    (
        "no address on the management bridge",
        SITE + "hosts:\n  - hostname: kvmhost1\n",
        "inv.yaml:5:15: hosts[0].hostname: host has no address on its management bridge 'cloudbr0': set "
        "'address' (e.g. 192.168.100.20/24)",
    ),
    (
        "missing hostname",
        SITE + "hosts:\n  - address: 192.168.100.20/24\n",
        "inv.yaml:5:5: hosts[0].hostname: required key 'hostname' is missing",
    ),
    (
        "OVS VLAN without a parent bridge",
        host(
            OK_HOST
            + dd("""\
            backend: ovs
            topology:
              nics: [{name: eth0}, {name: eth1}, {name: eth2}]
              bonds: [{name: bond0, members: [eth0, eth1]}]
              bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1}]
              vlans: [{id: 200, parent: eth2, bridge: cloudbr200}]
            """)
        ),
        "inv.yaml:13:33: hosts[0].topology.vlans[0].parent: on Open vSwitch VLAN 200 becomes a fake "
        "bridge, which needs a parent bridge: no bridge has 'eth2' as its uplink",
    ),
    (
        "overlapping subnets on two bridges",
        host(OK_HOST + "storage_address: 192.168.100.30/24\n"),
        "inv.yaml:8:22: hosts[0].storage_address: subnet 192.168.100.0/24 of 'cloudbr100' overlaps "
        "192.168.100.0/24 on 'cloudbr0'; the host could not tell which bridge to route through",
    ),
    (
        "one uplink for two bridges",
        host(
            OK_HOST
            + dd("""\
            topology:
              bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: bond0}]
            """)
        ),
        "inv.yaml:9:75: hosts[0].topology.bridges[1].uplink: 'bond0' is already the uplink of bridge 'cloudbr0'",
    ),
    (
        "same VLAN twice on one parent",
        host(
            OK_HOST
            + dd("""\
            topology:
              vlans: [{id: 7, parent: bond0, bridge: cloudbr7}, {id: 7, parent: cloudbr0, bridge: cloudbr8}]
            """)
        ),
        "inv.yaml:9:62: hosts[0].topology.vlans[1].id: VLAN 7 on 'bond0' is already bridged by 'cloudbr7'",
    ),
    (
        "IPv6 gateway in the IPv4 field",
        host("address: 192.168.100.20/24\ngateway: 2001:db8::1\n"),
        "inv.yaml:7:14: hosts[0].gateway: gateway 2001:db8::1 is IPv6: use gateway6",
    ),
    (
        "IPv4 gateway in the IPv6 field",
        host("address: 192.168.100.20/24\ngateway6: 192.168.100.1\n"),
        "inv.yaml:7:15: hosts[0].gateway6: gateway6 192.168.100.1 is IPv4: use gateway",
    ),
    (
        "interface name used twice",
        host(
            OK_HOST
            + dd("""\
            topology:
              bridges: [{name: cloudbr0, uplink: bond0}, {name: bond1}]
            traffic_labels: {public: cloudbr0}
            """)
        ),
        "inv.yaml:9:57: hosts[0].topology.bridges[1].name: interface name 'bond1' is already used by a bond",
    ),
    (
        "name starting with a dash",
        host(OK_HOST + "storage: {bridge: -cloudbr100}\n"),
        "inv.yaml:8:23: hosts[0].storage.bridge: interface name '-cloudbr100' must start with a letter or digit",
    ),
    (
        "YAML syntax error",
        "hosts:\n  - hostname: [a\n",
        "inv.yaml:3:1: (document): YAML: expected ',' or ']', but got '<stream end>'",
    ),
]


@pytest.mark.parametrize(("doc", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(doc: str, expected: str) -> None:
    assert one_error(doc) == expected


def test_cross_host_duplicates_are_all_reported_at_once() -> None:
    doc = SITE + textwrap.dedent(
        """\
        hosts:
          - hostname: kvmhost1
            address: 192.168.100.20/24
            macs: {eth0: "52:54:00:00:00:01"}
          - hostname: kvmhost1
            address: 192.168.100.20/24
            macs: {eth0: "52:54:00:00:00:01"}
          - hostname: kvmhost3
            address: 192.168.100.23/24
            bakend: ovs
        """
    )
    assert errors(doc) == [
        # the checks across hosts need every host: they wait until the schema passes
        "inv.yaml:13:5: hosts[2].bakend: unknown key 'bakend' (did you mean 'backend'?)",
    ]
    doc = doc.replace("    bakend: ovs\n", "")
    assert errors(doc) == [
        "inv.yaml:8:15: hosts[1].hostname: duplicate hostname kvmhost1 (also at hosts[0].hostname)",
        "inv.yaml:9:14: hosts[1].address: duplicate IP address 192.168.100.20 (also used by host kvmhost1)",
        "inv.yaml:10:18: hosts[1].macs.eth0: duplicate MAC address 52:54:00:00:00:01 (also at hosts[0].macs.eth0)",
    ]


def test_host_rules_come_out_with_the_schema_errors_of_other_hosts() -> None:
    doc = SITE + textwrap.dedent(
        """\
        hosts:
          - hostname: kvmhost1
            address: 192.168.100.20/24
            bnod: {mode: active-backup}
          - hostname: kvmhost2
            address: 192.168.100.21/24
            macs: {eth9: "52:54:00:00:00:09"}
          - hostname: kvmhost3
            address: 192.168.100.22/24
            bond: {miimon: 0}
            ipv6: maybe
        """
    )
    assert errors(doc) == [
        "inv.yaml:7:5: hosts[0].bnod: unknown key 'bnod' (did you mean 'bond'?)",
        "inv.yaml:14:11: hosts[2].ipv6: Input should be a valid boolean (got 'maybe')",
        # kvmhost2 passed the schema: its own rules ran; not those of kvmhost3 (miimon 0)
        "inv.yaml:10:12: hosts[1].macs.eth9: no NIC named 'eth9' in the topology"
        " (NICs: eth0, eth1, eth2, eth3)",
    ]


def test_a_site_that_fails_the_schema_holds_back_every_host_rule() -> None:
    doc = host("address: 192.168.100.20/24\nmacs: {eth9: '52:54:00:00:00:09'}\n")
    doc = doc.replace("  domain: mylab.local\n", "  domian: mylab.local\n")
    assert errors(doc) == [
        "inv.yaml:2:3: site.domian: unknown key 'domian' (did you mean 'domain'?)",
    ]


def test_unquoted_mac_is_not_read_as_a_base60_number() -> None:
    inv = parse_inventory(host(OK_HOST + "macs: {eth0: 52:54:00:12:34:56}\n"), "inv.yaml")
    assert inv.hosts[0].nic("eth0").mac == "52:54:00:12:34:56"


def test_host_overrides_site() -> None:
    site = SITE + "  backend: ovs\n  distro: ubuntu1804\n  bond: {mode: balance-slb, miimon: 200}\n"
    inv = parse_inventory(host(OK_HOST + "distro: debian12\n", site=site), "inv.yaml")
    h = inv.hosts[0]
    assert (h.distro.value, h.backend.value) == ("debian12", "ovs")
    assert h.bond("bond1").mode is BondMode.BALANCE_SLB
    assert h.bond("bond1").miimon == 200
    assert h.bond("bond1").primary is None  # primary applies to active-backup only


def test_a_distro_without_renderers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every distro id is rendered today; the rule stays for the next one (el10, ...)."""
    import dataclasses

    from cloudbr import platforms
    from cloudbr.model import Distro

    unrendered = dataclasses.replace(platforms.get(Distro.EL9), rendered=False)
    monkeypatch.setitem(platforms.PLATFORMS, Distro.EL9, unrendered)
    monkeypatch.setattr(platforms, "_ALL", tuple(p for p in platforms._ALL if p.id != Distro.EL9))
    with pytest.raises(InventoryError) as err:
        parse_inventory(host(OK_HOST + "distro: el9\n"), "inv.yaml")
    assert err.value.lines == [
        "inv.yaml:8:13: hosts[0].distro: distro 'el9' is not supported yet (supported: "
        "centos7, debian12, el8, ubuntu1804, ubuntu2004, ubuntu2204, ubuntu2404)"
    ]


README_BAD = """\
site:
  domain: mylab.local
  dns: {servers: [192.168.100.5]}
hosts:
  - hostname: kvmhost1
    distro: debian12
    address: 192.168.100.20/255.255.155.0
    gateway: 192.168.100.1
  - hostname: kvmhost2
    address: 192.168.100.21/24
    topology:
      bonds: [{name: bond0, members: [eth0, eth1]}, {name: bond1, members: [eth1, eth2]}]
      bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: bond1}]
    macs: {eth9: "52:54:00:00:00:09"}
"""


def test_the_readme_shows_what_check_prints_for_its_bad_inventory() -> None:
    """README, "Errors": a schema error and two rule errors of another host, in one run."""
    with pytest.raises(InventoryError) as exc:
        parse_inventory(README_BAD, "bad.yaml")
    shown = (Path(__file__).parents[1] / "README.md").read_text()
    block = shown.split("$ cloudbr check bad.yaml\n", 1)[1].split("\n```", 1)[0]
    assert block.splitlines() == [*exc.value.lines, "cloudbr: 3 problems; nothing written"]


VLAN_TOPOLOGY = """\
topology:
  nics: [{name: eth0}, {name: eth1}, {name: eth2}, {name: eth3}]
  bonds: [{name: bond0, members: [eth0, eth1]}, {name: bond1, members: [eth2, eth3]}]
  bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: bond1}]
  vlans: [{id: 200, parent: bond0, bridge: %s, name: %s}]
"""


@pytest.mark.parametrize(
    ("distro", "bridge", "vlan", "expected"),
    [
        (
            "debian12",
            "cloudbr200",
            "bond0.7",
            "inv.yaml:13:66: hosts[0].topology.vlans[0].name: VLAN device name 'bond0.7': "
            "ifupdown takes a VLAN's id and parent from its name: name it 'bond0.200' (or leave "
            "'name' out)",
        ),
        (
            "centos7",
            "cloudbr200",
            "bond1.200",
            "inv.yaml:13:66: hosts[0].topology.vlans[0].name: VLAN device name 'bond1.200': "
            "initscripts takes a VLAN's id and parent from its name: name it 'bond0.200' (or "
            "leave 'name' out)",
        ),
        (
            "debian12",
            "bond1.5",
            "vlan200",
            "inv.yaml:13:48: hosts[0].topology.vlans[0].bridge: bridge name 'bond1.5' has a '.': "
            "ifupdown would take it for a VLAN device",
        ),
        (
            "centos7",
            "public-range",
            "bond0.200",
            "inv.yaml:13:48: hosts[0].topology.vlans[0].bridge: the network service never brings "
            "up ifcfg-public-range (names ending '-range')",
        ),
    ],
)
def test_names_the_network_stack_would_misread(
    distro: str, bridge: str, vlan: str, expected: str
) -> None:
    """ifupdown (its vlan support, `ifup -n` on Debian 12) and initscripts' ifup read a VLAN's
    id and parent from `<parent>.<id>`; /etc/init.d/network (CentOS 7) skips `ifcfg-*-range`."""
    body = OK_HOST + f"distro: {distro}\n" + VLAN_TOPOLOGY % (bridge, vlan)
    assert one_error(host(body)) == expected


def test_netplan_and_networkmanager_take_any_vlan_name() -> None:
    """They write the id and the link explicitly: a name is only a name."""
    body = OK_HOST + "distro: el9\n" + VLAN_TOPOLOGY % ("br.storage", "vlan-stor")
    assert parse_inventory(host(body), "inv.yaml").hosts[0].vlans[0].name == "vlan-stor"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (  # urlsplit raised on it at render time (exit 3)
            'installer: {mirror: "http://[1:2]/debian"}\n',
            "inv.yaml:8:25: hosts[0].installer.mirror: 'http://[1:2]/debian': [1:2] is not an "
            "IPv6 address",
        ),
        (
            'installer: {mirror: "http://h:99999/x"}\n',
            "inv.yaml:8:25: hosts[0].installer.mirror: 'http://h:99999/x': port 99999 is out of "
            "range (1-65535)",
        ),
        (  # apt on the installed system has no nfs method
            'distro: ubuntu2404\ninstaller: {agent_repo: "nfs://h/x"}\n',
            "inv.yaml:9:29: hosts[0].installer.agent_repo: subiquity needs an http or https "
            "agent repo, not nfs",
        ),
        (  # only a YAML escape makes one; it crashed the UTF-8 encoding at render time
            'access: {ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3'
            'QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 a\\ud800b"]}\n',
            "inv.yaml:8:36: hosts[0].access.ssh_authorized_keys[0]: character U+D800 (a lone "
            "UTF-16 surrogate) is not allowed",
        ),
    ],
)
def test_values_a_renderer_or_installer_could_not_use(body: str, expected: str) -> None:
    assert one_error(host(OK_HOST + body)) == expected


@pytest.mark.parametrize(("mtu", "accepted"), [(1279, False), (1280, True)])
def test_the_kernel_takes_ipv6_off_a_device_below_1280(mtu: int, accepted: bool) -> None:
    """The consumer behind the rule: Linux, in a network namespace of this test."""
    script = (
        f"ip link add cloudbr0 type bridge && ip link set cloudbr0 mtu {mtu} up && "
        "ip addr add 2001:db8::20/64 dev cloudbr0"
    )
    res = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True)
    assert (res.returncode == 0) == accepted, res.stderr


def test_keyboard_layouts_are_those_of_xkb_data() -> None:
    """The consumer's own list: xkb-data's rules/base.lst (the names anaconda's --xlayouts,
    subiquity and debian-installer take), without its `custom` placeholder."""
    text = Path("/usr/share/X11/xkb/rules/base.lst").read_text()
    section = text.split("! layout\n", 1)[1].split("\n!", 1)[0]
    listed = {line.split()[0] for line in section.splitlines() if line.strip()}
    assert listed - {"custom"} == xkb.XKB_LAYOUTS


@pytest.mark.parametrize(
    ("value", "hint"),
    [("de-nodeadkeys", " (did you mean 'de'?)"), ("uk", " (did you mean 'gb'?)"), ("zz", "")],
)
def test_a_keyboard_that_is_no_xkb_layout_is_refused(value: str, hint: str) -> None:
    doc = (
        SITE
        + f"  installer: {{keyboard: {value}}}\nhosts:\n  - {{hostname: h1, address: 10.0.0.5/24}}\n"
    )
    assert errors(doc) == [
        f"inv.yaml:4:25: site.installer.keyboard: {value!r} is not an XKB keyboard layout{hint}: "
        "give one of xkb-data's layouts (us, gb, de, fr, ...); variants are not supported"
    ]


@pytest.mark.parametrize(
    ("rounds", "ok"),
    [("999", False), ("01000", False), ("1000", True), ("5000", True), ("1000000000", False)],
)
def test_sha512_rounds_are_what_libxcrypt_takes(rounds: str, ok: bool) -> None:
    """The consumer: this system's crypt(3) (libxcrypt, as Debian 12 and EL8/9 have it)
    fails (`*0`) for every rounds= the rule refuses, and hashes with the others."""
    libcrypt = ctypes.CDLL("libcrypt.so.1")
    libcrypt.crypt.restype = ctypes.c_char_p
    salt = f"$6$rounds={rounds}$cloudbrsalt$"
    hashed = (libcrypt.crypt(b"pw", salt.encode()) or b"*").decode()
    assert (not hashed.startswith("*")) == ok
    value = f"$6$rounds={rounds}$cloudbrsalt$" + "x" * 86 if not ok else hashed
    doc = (
        SITE
        + f'  access: {{root_password_hash: "{value}"}}\nhosts:\n  - {{hostname: h1, address: 10.0.0.5/24}}\n'
    )
    if ok:
        parse_inventory(doc, "inv.yaml")
    else:
        assert errors(doc) == [
            "inv.yaml:4:32: site.access.root_password_hash: rounds= must be 1000-999999999, without "
            "leading zeros: libxcrypt refuses any other, so the password would never match"
        ]


def test_an_el_mirror_or_repository_is_http_https_or_ftp() -> None:
    """Anaconda's parse_nfs_url (pyanaconda/core/payload.py) reads nfs://host/path as host
    'host/path' and no path; the form it wants, nfs://host:/path, is no URL."""
    doc = (
        SITE.replace("  domain: mylab.local\n", "  domain: mylab.local\n  distro: el9\n")
        + '  installer: {mirror: "nfs://192.168.100.2/export/el9", ovs_repo: "ftp://h/ovs"}\n'
        + "hosts:\n  - {hostname: h1, address: 10.0.0.5/24}\n"
    )
    assert errors(doc) == [
        "inv.yaml:5:23: site.installer.mirror: host h1: anaconda needs an http, https or ftp "
        "mirror, not nfs"
    ]


REAL_ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (REAL_ED25519, None),
        (keys_like.rsa(7, 4096), None),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "its key is cut short (or has extra bytes)"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7", "its key is cut short (or has extra bytes)"),
        ("ssh-rsa " + REAL_ED25519.split()[1], "its key is not an ssh-rsa key"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5A", "its key is not base64"),
    ],
    ids=["ed25519", "rsa", "ed25519-cut", "rsa-cut", "wrong-type", "not-base64"],
)
def test_a_key_sshd_would_ignore_is_refused(tmp_path: Path, key: str, problem: str | None) -> None:
    """The consumer: ssh-keygen -l (OpenSSH's own parser of a public key line) refuses each
    key the rule refuses, and reads each one it keeps."""
    (tmp_path / "key.pub").write_text(key + "\n")
    keygen = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(tmp_path / "key.pub")], capture_output=True
    )
    assert (keygen.returncode == 0) == (problem is None), keygen.stderr
    doc = (
        SITE
        + f'  access: {{ssh_authorized_keys: ["{key}"]}}\nhosts:\n  - {{hostname: h1, address: 10.0.0.5/24}}\n'
    )
    if problem is None:
        parse_inventory(doc, "inv.yaml")
    else:
        assert errors(doc) == [
            f"inv.yaml:4:34: site.access.ssh_authorized_keys[0]: is not an OpenSSH public key "
            f"line: {problem}; sshd would ignore it"
        ]
