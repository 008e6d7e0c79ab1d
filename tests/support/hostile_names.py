"""Hostile interface names, hostnames and domains: newlines, separators, substitutions,
options, reserved and over-long names. Run by
tests/test_hostile_inventory.py."""

from __future__ import annotations

from tests.support.hostile import HOSTS, STD_BRIDGES, TWO_NICS, host, topo

CASES: list[tuple[str, str, list[str]]] = [
    (
        "name-dns-search-newline",
        host('    dns: {search: ["mycloud.local\\n", up, reboot]}\n'),
        [
            "inv.yaml:7:20: hosts[0].dns.search[0]: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "name-bond-newline",
        topo(
            TWO_NICS
            + '      bonds: [{name: "bond0\\n", members: [eth0, eth1]}]\n      bridges: [{name: cloudbr0, uplink: "bond0\\n"}, {name: cloudbr1}]\n'
        ),
        [
            "inv.yaml:8:22: hosts[0].topology.bonds[0].name: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
            "inv.yaml:9:42: hosts[0].topology.bridges[0].uplink: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "name-bond-member-injection",
        topo(
            TWO_NICS
            + '      bonds: [{name: bond0, members: [eth0, "eth1 up reboot"]}]\n      bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1}]\n'
        ),
        [
            "inv.yaml:8:45: hosts[0].topology.bonds[0].members[1]: interface name 'eth1 up reboot' may only contain letters, digits, '_', '.', '-'",
        ],
    ),
    (
        "name-all",
        topo(
            "      nics: [{name: all}, {name: eth1}]\n      bonds: []\n      bridges: [{name: cloudbr0, uplink: all}, {name: cloudbr1, uplink: eth1}]\n"
        ),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'all' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
            "inv.yaml:9:42: hosts[0].topology.bridges[0].uplink: interface name 'all' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
        ],
    ),
    (
        "name-default",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0}, {name: default, uplink: eth1}]\n",
            "    traffic_labels: {public: default}\n",
        ),
        [
            "inv.yaml:6:30: hosts[0].traffic_labels.public: interface name 'default' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
            "inv.yaml:10:56: hosts[0].topology.bridges[1].name: interface name 'default' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
        ],
    ),
    (
        "name-bonding-masters",
        topo(
            TWO_NICS
            + "      bonds: [{name: bonding_masters, members: [eth0, eth1]}]\n      bridges: [{name: cloudbr0, uplink: bonding_masters}, {name: cloudbr1}]\n"
        ),
        [
            "inv.yaml:8:22: hosts[0].topology.bonds[0].name: interface name 'bonding_masters' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
            "inv.yaml:9:42: hosts[0].topology.bridges[0].uplink: interface name 'bonding_masters' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
        ],
    ),
    (
        "name-leading-dash",
        topo("      nics: [{name: -eth0}, {name: eth1}]\n      bonds: []\n" + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name '-eth0' must start with a letter or digit",
        ],
    ),
    (
        "name-too-long",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1234567890, uplink: eth1}]\n"
        ),
        [
            "inv.yaml:9:56: hosts[0].topology.bridges[1].name: interface name 'cloudbr1234567890' is 17 characters long; Linux allows at most 15 (IFNAMSIZ)",
        ],
    ),
    (
        "name-cloud0",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloud0, uplink: eth0}, {name: cloudbr1, uplink: eth1}]\n"
        ),
        [
            "inv.yaml:9:24: hosts[0].topology.bridges[0].name: interface name 'cloud0' is reserved (cloud0 belongs to CloudStack)",
        ],
    ),
    (
        "name-semicolon",
        topo('      nics: [{name: "eth0;reboot"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'eth0;reboot' may only contain letters, digits, '_', '.', '-'",
        ],
    ),
    (
        "name-command-substitution",
        topo('      nics: [{name: "$(reboot)"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name '$(reboot)' may only contain letters, digits, '_', '.', '-'",
        ],
    ),
    (
        "name-non-ascii",
        topo("      nics: [{name: ethö}, {name: eth1}]\n      bonds: []\n" + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'ethö' may only contain letters, digits, '_', '.', '-'",
        ],
    ),
    (
        "name-space",
        topo('      nics: [{name: "eth 0"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'eth 0' may only contain letters, digits, '_', '.', '-'",
        ],
    ),
    (
        "name-dotdot",
        topo('      nics: [{name: ".."}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name '..' must start with a letter or digit",
        ],
    ),
    (
        "name-slash",
        topo('      nics: [{name: "eth0/../x"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
        [
            "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'eth0/../x' may only contain letters, digits, '_', '.', '-'",
        ],
    ),
    (
        "name-vlan-duplicate",
        topo(
            TWO_NICS
            + "      bonds: []\n"
            + STD_BRIDGES
            + "      vlans:\n        - {id: 5, parent: eth0, bridge: cloudbr5, name: vlan5}\n        - {id: 6, parent: eth1, bridge: cloudbr6, name: vlan5}\n"
        ),
        [
            "inv.yaml:12:57: hosts[0].topology.vlans[1].name: VLAN device name 'vlan5' is already used by a VLAN device",
        ],
    ),
    (
        "name-mac-key-newline",
        host('    macs: {"eth0\\n": "52:54:00:00:00:01"}\n'),
        [
            "inv.yaml:7:12: hosts[0].macs['eth0\\n']: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "hostname-trailing-newline",
        'hosts:\n  - hostname: "kvmhost1\\n"\n    address: 192.168.100.20/24\n',
        [
            "inv.yaml:2:15: hosts[0].hostname: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "hostname-dot",
        "hosts:\n  - hostname: kvmhost1.mylab\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: hostname 'kvmhost1.mylab' must be the short name; put the rest in 'domain' (the FQDN is hostname.domain)",
        ],
    ),
    (
        "hostname-leading-dash",
        "hosts:\n  - hostname: -kvmhost1\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: '-kvmhost1' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
        ],
    ),
    (
        "hostname-64-chars",
        "hosts:\n  - hostname: " + "a" * 64 + "\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
        ],
    ),
    (
        "hostname-underscore",
        "hosts:\n  - hostname: kvm_host\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: 'kvm_host' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
        ],
    ),
    (
        "fqdn-over-253",
        "site:\n  domain: "
        + ".".join(["d" * 61] * 4)
        + "\nhosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:4:15: hosts[0].hostname: FQDN kvmhost1.ddddddddddddddddddddddddddddddd... is 256 characters long; DNS allows at most 253",
        ],
    ),
    (
        "domain-injection",
        'site:\n  domain: "mylab.local\\nip a"\n' + HOSTS,
        [
            "inv.yaml:2:11: site.domain: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "domain-empty-label",
        "site:\n  domain: mylab..local\n" + HOSTS,
        [
            "inv.yaml:2:11: site.domain: 'mylab..local' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
        ],
    ),
]
