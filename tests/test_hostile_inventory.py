"""A hostile-input corpus: broken YAML, ambiguous scalars, hostile names, addresses and values
aimed at the command lines and installer documents cloudbr writes. Each case is rendered
through the CLI and must exit 1 with exactly the listed FILE:LINE:COL lines, writing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudbr import cli

B = "site:\n  domain: mylab.local\nhosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n    gateway: 192.168.100.1\n"


def host(extra: str, site: str = "", distro: str = "") -> str:
    s = "site:\n  domain: mylab.local\n" + site
    h = "hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n    gateway: 192.168.100.1\n"
    if distro:
        h += f"    distro: {distro}\n"
    return s + h + extra


def topo(body: str, extra: str = "", backend: str = "linuxbridge") -> str:
    return (
        "hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n    gateway: 192.168.100.1\n"
        f"    backend: {backend}\n{extra}    topology:\n" + body
    )


TWO_NICS = "      nics: [{name: eth0}, {name: eth1}]\n"
STD_BRIDGES = "      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1, uplink: eth1}]\n"

CASES = [
    # --- YAML forms ---
    ("yaml-anchor-alias", "site: &s {domain: mylab.local}\nx: *s\n" + B.split("\n", 2)[2]),
    (
        "yaml-alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        + B,
    ),
    ("yaml-recursive-alias", "site: &r [*r]\n" + B.split("\n", 2)[2]),
    ("yaml-undefined-alias", "site: *nope\n" + B.split("\n", 2)[2]),
    ("yaml-alias-as-key", B + "    *k : 1\n"),
    ("yaml-merge-key", "site:\n  <<: {domain: mylab.local}\n" + B.split("\n", 2)[2]),
    ("yaml-python-name", "site: !!python/name:os.system\n" + B.split("\n", 2)[2]),
    ("yaml-python-apply", "site: !!python/object/apply:os.system [reboot]\n" + B.split("\n", 2)[2]),
    ("yaml-binary", B + "    hostname: !!binary a3ZtaG9zdDE=\n".replace("hostname", "domain")),
    ("yaml-timestamp", B + "    domain: !!timestamp 2001-12-14\n"),
    ("yaml-set", "site: !!set {a, b}\n" + B.split("\n", 2)[2]),
    ("yaml-omap", "site: !!omap [{domain: x}]\n" + B.split("\n", 2)[2]),
    ("yaml-local-tag", "site: !local {domain: x}\n" + B.split("\n", 2)[2]),
    ("yaml-int-tag-on-text", B + "    storage: {vlan: !!int ten}\n"),
    ("yaml-deep-flow", "site: " + "[" * 3000 + "]" * 3000 + "\n" + B.split("\n", 2)[2]),
    (
        "yaml-deep-block",
        "site:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(40)) + B.split("\n", 2)[2],
    ),
    ("yaml-duplicate-key", B + "    address: 192.168.100.21/24\n"),
    ("yaml-list-as-key", B + "    [a, b]: c\n"),
    ("yaml-tab-indent", B + "\tdistro: debian12\n"),
    ("yaml-not-a-mapping", "- hostname: kvmhost1\n"),
    ("yaml-two-documents", B + "---\n" + B),
    ("yaml-unclosed-quote", B + '    domain: "mylab\n'),
    ("yaml-raw-nul", B + "    domain: my\x00lab\n"),
    ("yaml-raw-bell", B + "    domain: my\x07lab\n"),
    ("yaml-raw-c1", B + "    domain: my\x9blab\n"),
    ("yaml-nel-in-plain", B + "    domain: my\x85lab.local\n"),
    ("yaml-u2028-quoted", B + '    domain: "mylab\u2028.local"\n'),
    ("yaml-escaped-newline", B + '    domain: "mylab.local\\nup reboot"\n'),
    ("yaml-block-scalar", B + "    domain: |\n      mylab.local\n"),
    ("yaml-folded-key-newline", B + '    "distro\\n": debian12\n'),
    # --- scalars ---
    ("scalar-octal-vlan", host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0100}\n")),
    (
        "scalar-octal-mtu",
        topo(
            "      nics: [{name: eth0, mtu: 01500}, {name: eth1}]\n"
            + STD_BRIDGES
            + "      bonds: []\n"
        ),
    ),
    ("scalar-0o-vlan", host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0o144}\n")),
    (
        "scalar-0b-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0b1100100}\n"),
    ),
    ("scalar-yes-miimon", host("    bond: {miimon: yes}\n")),
    ("scalar-on-ipv6", host("    ipv6: on\n")),
    (
        "scalar-Off-stp",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0, stp: Off}, {name: cloudbr1, uplink: eth1}]\n"
        ),
    ),
    ("scalar-NO-install-agent", host("    installer: {install_agent: NO}\n")),
    (
        "scalar-sexagesimal-mtu",
        topo(
            "      nics: [{name: eth0, mtu: 25:00}, {name: eth1}]\n"
            + STD_BRIDGES
            + "      bonds: []\n"
        ),
    ),
    (
        "scalar-underscore-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 1_00}\n"),
    ),
    (
        "scalar-float-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 100.5}\n"),
    ),
    (
        "scalar-inf-mtu",
        topo(
            "      nics: [{name: eth0, mtu: .inf}, {name: eth1}]\n"
            + STD_BRIDGES
            + "      bonds: []\n"
        ),
    ),
    (
        "scalar-bool-as-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: true}\n"),
    ),
    ("scalar-null-hostname", "hosts:\n  - hostname: ~\n    address: 192.168.100.20/24\n"),
    ("scalar-number-hostname", "hosts:\n  - hostname: 0100\n    address: 192.168.100.20/24\n"),
    ("scalar-list-hostname", "hosts:\n  - hostname: [a]\n    address: 192.168.100.20/24\n"),
    # --- names ---
    ("name-dns-search-newline", host('    dns: {search: ["mycloud.local\\n", up, reboot]}\n')),
    (
        "name-bond-newline",
        topo(
            TWO_NICS
            + '      bonds: [{name: "bond0\\n", members: [eth0, eth1]}]\n      bridges: [{name: cloudbr0, uplink: "bond0\\n"}, {name: cloudbr1}]\n'
        ),
    ),
    (
        "name-bond-member-injection",
        topo(
            TWO_NICS
            + '      bonds: [{name: bond0, members: [eth0, "eth1 up reboot"]}]\n      bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1}]\n'
        ),
    ),
    (
        "name-all",
        topo(
            "      nics: [{name: all}, {name: eth1}]\n      bonds: []\n      bridges: [{name: cloudbr0, uplink: all}, {name: cloudbr1, uplink: eth1}]\n"
        ),
    ),
    (
        "name-default",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0}, {name: default, uplink: eth1}]\n",
            "    traffic_labels: {public: default}\n",
        ),
    ),
    (
        "name-bonding-masters",
        topo(
            TWO_NICS
            + "      bonds: [{name: bonding_masters, members: [eth0, eth1]}]\n      bridges: [{name: cloudbr0, uplink: bonding_masters}, {name: cloudbr1}]\n"
        ),
    ),
    (
        "name-leading-dash",
        topo("      nics: [{name: -eth0}, {name: eth1}]\n      bonds: []\n" + STD_BRIDGES),
    ),
    (
        "name-too-long",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1234567890, uplink: eth1}]\n"
        ),
    ),
    (
        "name-cloud0",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloud0, uplink: eth0}, {name: cloudbr1, uplink: eth1}]\n"
        ),
    ),
    (
        "name-semicolon",
        topo('      nics: [{name: "eth0;reboot"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
    ),
    (
        "name-command-substitution",
        topo('      nics: [{name: "$(reboot)"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
    ),
    (
        "name-non-ascii",
        topo("      nics: [{name: ethö}, {name: eth1}]\n      bonds: []\n" + STD_BRIDGES),
    ),
    (
        "name-space",
        topo('      nics: [{name: "eth 0"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
    ),
    (
        "name-dotdot",
        topo('      nics: [{name: ".."}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
    ),
    (
        "name-slash",
        topo('      nics: [{name: "eth0/../x"}, {name: eth1}]\n      bonds: []\n' + STD_BRIDGES),
    ),
    (
        "name-vlan-duplicate",
        topo(
            TWO_NICS
            + "      bonds: []\n"
            + STD_BRIDGES
            + "      vlans:\n        - {id: 5, parent: eth0, bridge: cloudbr5, name: vlan5}\n        - {id: 6, parent: eth1, bridge: cloudbr6, name: vlan5}\n"
        ),
    ),
    ("name-mac-key-newline", host('    macs: {"eth0\\n": "52:54:00:00:00:01"}\n')),
    (
        "hostname-trailing-newline",
        'hosts:\n  - hostname: "kvmhost1\\n"\n    address: 192.168.100.20/24\n',
    ),
    ("hostname-dot", "hosts:\n  - hostname: kvmhost1.mylab\n    address: 192.168.100.20/24\n"),
    ("hostname-leading-dash", "hosts:\n  - hostname: -kvmhost1\n    address: 192.168.100.20/24\n"),
    (
        "hostname-64-chars",
        "hosts:\n  - hostname: " + "a" * 64 + "\n    address: 192.168.100.20/24\n",
    ),
    ("hostname-underscore", "hosts:\n  - hostname: kvm_host\n    address: 192.168.100.20/24\n"),
    (
        "fqdn-over-253",
        "site:\n  domain: "
        + ".".join(["d" * 61] * 4)
        + "\nhosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n",
    ),
    ("domain-injection", 'site:\n  domain: "mylab.local\\nip a"\n' + B.split("\n", 2)[2]),
    ("domain-empty-label", "site:\n  domain: mylab..local\n" + B.split("\n", 2)[2]),
    # --- addresses ---
    (
        "addr-trailing-newline",
        'hosts:\n  - hostname: kvmhost1\n    address: "192.168.100.20/24\\n"\n',
    ),
    ("addr-loopback", "hosts:\n  - hostname: kvmhost1\n    address: 127.0.0.2/8\n"),
    ("addr-multicast", "hosts:\n  - hostname: kvmhost1\n    address: 224.0.0.5/4\n"),
    ("addr-unspecified", "hosts:\n  - hostname: kvmhost1\n    address: 0.0.0.0/32\n"),
    (
        "addr6-loopback",
        "hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: ::1/128\n",
    ),
    (
        "addr6-unspecified",
        "hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: ::/128\n",
    ),
    (
        "addr6-multicast",
        "hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: ff02::1/16\n",
    ),
    (
        "addr6-scope-id",
        'hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: "fe80::2%eth0/64"\n',
    ),
    (
        "gateway6-scope-injection",
        'hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: 2001:db8::20/64\n    gateway6: "fe80::1%x up reboot"\n',
    ),
    (
        "gateway-network-address",
        host("").replace("gateway: 192.168.100.1", "gateway: 192.168.100.0"),
    ),
    (
        "gateway-broadcast-address",
        host("").replace("gateway: 192.168.100.1", "gateway: 192.168.100.255"),
    ),
    ("gateway-newline", host("").replace("gateway: 192.168.100.1", 'gateway: "192.168.100.1\\n"')),
    (
        "gateway-space-injection",
        host("").replace("gateway: 192.168.100.1", 'gateway: "192.168.100.1 up reboot"'),
    ),
    ("gateway-ipv6-on-v4", host("").replace("gateway: 192.168.100.1", "gateway: 2001:db8::1")),
    ("dns-server-newline", host('    dns: {servers: ["192.168.100.5\\nnameserver 6.6.6.6"]}\n')),
    ("dns-server-hostname", host("    dns: {servers: [dns.example]}\n")),
    ("mac-multicast", host('    macs: {eth0: "01:00:5e:00:00:01"}\n')),
    ("mac-broadcast", host('    macs: {eth0: "ff:ff:ff:ff:ff:ff"}\n')),
    ("mac-zero", host('    macs: {eth0: "00:00:00:00:00:00"}\n')),
    ("mac-newline", host('    macs: {eth0: "52:54:00:00:00:01\\n"}\n')),
    ("mac-dashes", host("    macs: {eth0: 52-54-00-00-00-01}\n")),
    ("mac-seven-octets", host('    macs: {eth0: "52:54:00:00:00:01:02"}\n')),
    # --- installer, access: values reaching command lines and installer documents ---
    ("timezone-option", host("    installer: {timezone: --nontp}\n")),
    ("timezone-newline", host('    installer: {timezone: "UTC\\nrootpw --plaintext x"}\n')),
    ("timezone-space", host('    installer: {timezone: "UTC --utc"}\n')),
    ("keyboard-option", host("    installer: {keyboard: -us}\n")),
    ("locale-newline", host('    installer: {locale: "en_US.UTF-8\\nd-i x"}\n')),
    ("disk-option", host("    installer: {disk: -sda}\n")),
    ("disk-path", host("    installer: {disk: /dev/sda}\n")),
    ("mirror-semicolon", host('    installer: {mirror: "http://m.example/d;reboot"}\n')),
    ("mirror-quote", host('    installer: {mirror: "http://m.example/d\'x"}\n')),
    (
        "mirror-command-substitution",
        host('    installer: {mirror: "http://m.example/$(reboot)"}\n'),
    ),
    ("mirror-space", host('    installer: {mirror: "http://m.example/d --proxy=x"}\n')),
    ("mirror-newline", host('    installer: {mirror: "http://m.example/d\\n%post"}\n')),
    ("mirror-userinfo", host('    installer: {mirror: "http://u:p@m.example/d"}\n')),
    ("mirror-file-scheme", host('    installer: {mirror: "file:///etc/shadow"}\n')),
    ("mirror-leading-dash", host('    installer: {mirror: "-http://m.example/d"}\n')),
    (
        "mirror-nfs-debian",
        host('    installer: {mirror: "nfs://m.example/debian"}\n', distro="debian12"),
    ),
    ("agent-repo-backtick", host('    installer: {agent_repo: "http://m.example/`reboot`"}\n')),
    (
        "ovs-repo-newline",
        host('    installer: {ovs_repo: "http://m.example/ovs\\nrepo --name=x"}\n'),
    ),
    ("password-plaintext", host("    access: {root_password_hash: hunter2}\n")),
    (
        "password-hash-newline",
        host(
            '    access: {root_password_hash: "$6$cloudbrlab$iTU3lxUd69EYmQuLMqd2Xh1HzO4FmuUBozC84qZLzvkcCaGexk9uYdMrlsmWWF0fBxRIIqG171n5.5fgjTOdY1\\nsshpw x"}\n'
        ),
    ),
    (
        "ssh-key-newline-second-key",
        host(
            '    access: {ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 a\\nssh-rsa AAAA evil"]}\n'
        ),
    ),
    (
        "ssh-key-options-prefix",
        host(
            '    access: {ssh_authorized_keys: ["command=\\"reboot\\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3"]}\n'
        ),
    ),
    (
        "ssh-key-carriage-return",
        host(
            '    access: {ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 a\\rb"]}\n'
        ),
    ),
    # --- semantic rules ---
    (
        "bridge-gateway-no-uplink",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0}, {name: cloudbr1, uplink: eth1}]\n"
        ),
    ),
    (
        "vlan-on-bond-member",
        host("    storage_address: 10.0.100.20/24\n    storage: {parent: eth0}\n"),
    ),
    (
        "bridge-mtu-over-default-uplink",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0, mtu: 9000}, {name: cloudbr1, uplink: eth1}]\n"
        ),
    ),
    (
        "ovs-bond-no-bridge",
        topo(
            "      nics: [{name: eth0}, {name: eth1}, {name: eth2}]\n      bonds: [{name: bond1, members: [eth1, eth2]}]\n      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1}]\n",
            backend="ovs",
        ),
    ),
]


EXPECTED: dict[str, list[str]] = {
    "yaml-anchor-alias": [
        "inv.yaml:1:7: site: anchor &s: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:4: x: alias *s: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
    ],
    "yaml-alias-bomb": [
        "inv.yaml:1:4: a: anchor &a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:4: b: anchor &b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:8: b[0]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:12: b[1]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:16: b[2]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:20: b[3]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:24: b[4]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:28: b[5]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:32: b[6]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:36: b[7]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:2:40: b[8]: alias *a: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:5: c[0]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:9: c[1]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:13: c[2]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:17: c[3]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:21: c[4]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:25: c[5]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:29: c[6]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:33: c[7]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:37: c[8]: alias *b: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:3:1: c: unknown key 'c' (allowed: site, hosts)",
    ],
    "yaml-recursive-alias": [
        "inv.yaml:1:7: site: anchor &r: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        "inv.yaml:1:11: site[0]: alias *r: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
    ],
    "yaml-undefined-alias": [
        "inv.yaml:1:7: site: alias *nope: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
    ],
    "yaml-alias-as-key": [
        "inv.yaml:7:5: hosts[0]: a key must be a plain word, not a list, mapping or alias",
    ],
    "yaml-merge-key": [
        "inv.yaml:2:3: site: merge keys (<<) are not supported: write the keys out",
    ],
    "yaml-python-name": [
        "inv.yaml:1:7: site: tag !!python/name:os.system is not supported (core YAML types only)",
    ],
    "yaml-python-apply": [
        "inv.yaml:1:7: site: tag !!python/object/apply:os.system is not supported (plain lists only)",
    ],
    "yaml-binary": [
        "inv.yaml:7:13: hosts[0].domain: tag !!binary is not supported (core YAML types only)",
    ],
    "yaml-timestamp": [
        "inv.yaml:7:13: hosts[0].domain: tag !!timestamp is not supported (core YAML types only)",
    ],
    "yaml-set": [
        "inv.yaml:1:7: site: tag !!set is not supported (plain mappings only)",
        "inv.yaml:1:14: site.a: unknown key 'a' (allowed: domain, distro, backend, bond, dns, storage, ipv6, traffic_labels, topology, blacklist_bridge_module, access, installer)",
        "inv.yaml:1:17: site.b: unknown key 'b' (allowed: domain, distro, backend, bond, dns, storage, ipv6, traffic_labels, topology, blacklist_bridge_module, access, installer)",
    ],
    "yaml-omap": [
        "inv.yaml:1:7: site: tag !!omap is not supported (plain lists only)",
    ],
    "yaml-local-tag": [
        "inv.yaml:1:7: site: tag !local is not supported (plain mappings only)",
    ],
    "yaml-int-tag-on-text": [
        "inv.yaml:7:21: hosts[0].storage.vlan: 'ten' is not a valid !!int",
    ],
    "yaml-deep-flow": [
        "inv.yaml:1:38: (document): nested more than 32 levels deep",
    ],
    "yaml-deep-block": [
        "inv.yaml:32:63: (document): nested more than 32 levels deep",
    ],
    "yaml-duplicate-key": [
        "inv.yaml:7:5: hosts[0].address: duplicate key 'address' (the earlier value would be lost)",
    ],
    "yaml-list-as-key": [
        "inv.yaml:7:5: hosts[0]: a key must be a plain word, not a list, mapping or alias",
    ],
    "yaml-tab-indent": [
        "inv.yaml:7:1: (document): YAML: found character '\\t' that cannot start any token",
    ],
    "yaml-not-a-mapping": [
        "inv.yaml:1:1: (document): expected a mapping with 'hosts'",
    ],
    "yaml-two-documents": [
        "inv.yaml:7:1: (document): YAML: but found another document",
    ],
    "yaml-unclosed-quote": [
        "inv.yaml:8:1: (document): YAML: found unexpected end of stream",
    ],
    "yaml-raw-nul": [
        "inv.yaml:7:15: (document): character U+0000 is not allowed in YAML text",
    ],
    "yaml-raw-bell": [
        "inv.yaml:7:15: (document): character U+0007 is not allowed in YAML text",
    ],
    "yaml-raw-c1": [
        "inv.yaml:7:15: (document): character U+009B is not allowed in YAML text",
    ],
    "yaml-nel-in-plain": [
        "inv.yaml:9:1: (document): YAML: could not find expected ':'",
    ],
    "yaml-u2028-quoted": [
        "inv.yaml:7:13: hosts[0].domain: control character U+2028 is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "yaml-escaped-newline": [
        "inv.yaml:7:13: hosts[0].domain: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "yaml-block-scalar": [
        "inv.yaml:7:13: hosts[0].domain: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "yaml-folded-key-newline": [
        "inv.yaml:7:5: hosts[0]['distro\\n']: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "scalar-octal-vlan": [
        "inv.yaml:8:21: hosts[0].storage.vlan: '0100' is ambiguous: YAML 1.1 reads a leading 0 as octal; write 100 for the number, or quote it ('0100') for text",
    ],
    "scalar-octal-mtu": [
        "inv.yaml:7:32: hosts[0].topology.nics[0].mtu: '01500' is ambiguous: YAML 1.1 reads a leading 0 as octal; write 1500 for the number, or quote it ('01500') for text",
    ],
    "scalar-0o-vlan": [
        "inv.yaml:8:21: hosts[0].storage.vlan: '0o144' is ambiguous between YAML versions: write the decimal number",
    ],
    "scalar-0b-vlan": [
        "inv.yaml:8:21: hosts[0].storage.vlan: '0b1100100' is ambiguous between YAML versions: write the decimal number",
    ],
    "scalar-yes-miimon": [
        "inv.yaml:7:20: hosts[0].bond.miimon: 'yes' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('yes') for text",
    ],
    "scalar-on-ipv6": [
        "inv.yaml:7:11: hosts[0].ipv6: 'on' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('on') for text",
    ],
    "scalar-Off-stp": [
        "inv.yaml:9:53: hosts[0].topology.bridges[0].stp: 'Off' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('Off') for text",
    ],
    "scalar-NO-install-agent": [
        "inv.yaml:7:32: hosts[0].installer.install_agent: 'NO' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('NO') for text",
    ],
    "scalar-sexagesimal-mtu": [
        "inv.yaml:7:32: hosts[0].topology.nics[0].mtu: Input should be a valid integer (got '25:00')",
    ],
    "scalar-underscore-vlan": [
        "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got '1_00')",
    ],
    "scalar-float-vlan": [
        "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got 100.5)",
    ],
    "scalar-inf-mtu": [
        "inv.yaml:7:32: hosts[0].topology.nics[0].mtu: Input should be a valid integer (got inf)",
    ],
    "scalar-bool-as-vlan": [
        "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got True)",
    ],
    "scalar-null-hostname": [
        "inv.yaml:2:15: hosts[0].hostname: Input should be a valid string (got None)",
    ],
    "scalar-number-hostname": [
        "inv.yaml:2:15: hosts[0].hostname: '0100' is ambiguous: YAML 1.1 reads a leading 0 as octal; write 100 for the number, or quote it ('0100') for text",
    ],
    "scalar-list-hostname": [
        "inv.yaml:2:15: hosts[0].hostname: Input should be a valid string",
    ],
    "name-dns-search-newline": [
        "inv.yaml:7:20: hosts[0].dns.search[0]: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "name-bond-newline": [
        "inv.yaml:8:22: hosts[0].topology.bonds[0].name: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        "inv.yaml:9:42: hosts[0].topology.bridges[0].uplink: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "name-bond-member-injection": [
        "inv.yaml:8:45: hosts[0].topology.bonds[0].members[1]: interface name 'eth1 up reboot' may only contain letters, digits, '_', '.', '-'",
    ],
    "name-all": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'all' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
        "inv.yaml:9:42: hosts[0].topology.bridges[0].uplink: interface name 'all' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
    ],
    "name-default": [
        "inv.yaml:6:30: hosts[0].traffic_labels.public: interface name 'default' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
        "inv.yaml:10:56: hosts[0].topology.bridges[1].name: interface name 'default' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
    ],
    "name-bonding-masters": [
        "inv.yaml:8:22: hosts[0].topology.bonds[0].name: interface name 'bonding_masters' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
        "inv.yaml:9:42: hosts[0].topology.bridges[0].uplink: interface name 'bonding_masters' is reserved: it collides with the kernel's own /proc/sys/net/*/conf/all, .../default and /sys/class/net/bonding_masters",
    ],
    "name-leading-dash": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name '-eth0' must start with a letter or digit",
    ],
    "name-too-long": [
        "inv.yaml:9:56: hosts[0].topology.bridges[1].name: interface name 'cloudbr1234567890' is 17 characters long; Linux allows at most 15 (IFNAMSIZ)",
    ],
    "name-cloud0": [
        "inv.yaml:9:24: hosts[0].topology.bridges[0].name: interface name 'cloud0' is reserved (cloud0 belongs to CloudStack)",
    ],
    "name-semicolon": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'eth0;reboot' may only contain letters, digits, '_', '.', '-'",
    ],
    "name-command-substitution": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name '$(reboot)' may only contain letters, digits, '_', '.', '-'",
    ],
    "name-non-ascii": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'ethö' may only contain letters, digits, '_', '.', '-'",
    ],
    "name-space": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'eth 0' may only contain letters, digits, '_', '.', '-'",
    ],
    "name-dotdot": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name '..' must start with a letter or digit",
    ],
    "name-slash": [
        "inv.yaml:7:21: hosts[0].topology.nics[0].name: interface name 'eth0/../x' may only contain letters, digits, '_', '.', '-'",
    ],
    "name-vlan-duplicate": [
        "inv.yaml:12:57: hosts[0].topology.vlans[1].name: VLAN device name 'vlan5' is already used by a VLAN device",
    ],
    "name-mac-key-newline": [
        "inv.yaml:7:12: hosts[0].macs['eth0\\n']: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "hostname-trailing-newline": [
        "inv.yaml:2:15: hosts[0].hostname: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "hostname-dot": [
        "inv.yaml:2:15: hosts[0].hostname: hostname 'kvmhost1.mylab' must be the short name; put the rest in 'domain' (the FQDN is hostname.domain)",
    ],
    "hostname-leading-dash": [
        "inv.yaml:2:15: hosts[0].hostname: '-kvmhost1' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
    ],
    "hostname-64-chars": [
        "inv.yaml:2:15: hosts[0].hostname: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
    ],
    "hostname-underscore": [
        "inv.yaml:2:15: hosts[0].hostname: 'kvm_host' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
    ],
    "fqdn-over-253": [
        "inv.yaml:4:15: hosts[0].hostname: FQDN kvmhost1.ddddddddddddddddddddddddddddddd... is 256 characters long; DNS allows at most 253",
    ],
    "domain-injection": [
        "inv.yaml:2:11: site.domain: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "domain-empty-label": [
        "inv.yaml:2:11: site.domain: 'mylab..local' is not a valid DNS name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')",
    ],
    "addr-trailing-newline": [
        "inv.yaml:3:14: hosts[0].address: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "addr-loopback": [
        "inv.yaml:3:14: hosts[0].address: 127.0.0.2 is a loopback address, not a host address",
    ],
    "addr-multicast": [
        "inv.yaml:3:14: hosts[0].address: 224.0.0.5 is a multicast address, not a host address",
    ],
    "addr-unspecified": [
        "inv.yaml:3:14: hosts[0].address: 0.0.0.0 is the unspecified address, not a host address",
    ],
    "addr6-loopback": [
        "inv.yaml:5:15: hosts[0].address6: ::1 is a loopback address, not a host address",
    ],
    "addr6-unspecified": [
        "inv.yaml:5:15: hosts[0].address6: :: is the unspecified address, not a host address",
    ],
    "addr6-multicast": [
        "inv.yaml:5:15: hosts[0].address6: ff02::1 is a multicast address, not a host address",
    ],
    "addr6-scope-id": [
        "inv.yaml:5:15: hosts[0].address6: 'fe80::2%eth0/64': scope ids ('%') are not supported",
    ],
    "gateway6-scope-injection": [
        "inv.yaml:6:15: hosts[0].gateway6: 'fe80::1%x up reboot': scope ids ('%') are not supported",
    ],
    "gateway-network-address": [
        "inv.yaml:6:14: hosts[0].gateway: gateway 192.168.100.0 is the network address of 192.168.100.0/24, not a router's address",
    ],
    "gateway-broadcast-address": [
        "inv.yaml:6:14: hosts[0].gateway: gateway 192.168.100.255 is the broadcast address of 192.168.100.0/24, not a router's address",
    ],
    "gateway-newline": [
        "inv.yaml:6:14: hosts[0].gateway: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "gateway-space-injection": [
        "inv.yaml:6:14: hosts[0].gateway: '192.168.100.1 up reboot' is not a valid IP address",
    ],
    "gateway-ipv6-on-v4": [
        "inv.yaml:6:14: hosts[0].gateway: gateway 2001:db8::1 is IPv6: use gateway6",
    ],
    "dns-server-newline": [
        "inv.yaml:7:21: hosts[0].dns.servers[0]: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "dns-server-hostname": [
        "inv.yaml:7:21: hosts[0].dns.servers[0]: 'dns.example' is not a valid IP address",
    ],
    "mac-multicast": [
        "inv.yaml:7:18: hosts[0].macs.eth0: 01:00:5e:00:00:01 is a multicast MAC address (the first octet is odd)",
    ],
    "mac-broadcast": [
        "inv.yaml:7:18: hosts[0].macs.eth0: ff:ff:ff:ff:ff:ff is the broadcast address, not a NIC's MAC address",
    ],
    "mac-zero": [
        "inv.yaml:7:18: hosts[0].macs.eth0: 00:00:00:00:00:00 is the all-zero MAC address, not a NIC's MAC address",
    ],
    "mac-newline": [
        "inv.yaml:7:18: hosts[0].macs.eth0: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "mac-dashes": [
        "inv.yaml:7:18: hosts[0].macs.eth0: '52-54-00-00-00-01' is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)",
    ],
    "mac-seven-octets": [
        "inv.yaml:7:18: hosts[0].macs.eth0: '52:54:00:00:00:01:02' is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)",
    ],
    "timezone-option": [
        "inv.yaml:7:27: hosts[0].installer.timezone: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' (got '--nontp')",
    ],
    "timezone-newline": [
        "inv.yaml:7:27: hosts[0].installer.timezone: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "timezone-space": [
        "inv.yaml:7:27: hosts[0].installer.timezone: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' (got 'UTC --utc')",
    ],
    "keyboard-option": [
        "inv.yaml:7:27: hosts[0].installer.keyboard: String should match pattern '^[a-z]{2,8}(-[a-z0-9]+)?$' (got '-us')",
    ],
    "locale-newline": [
        "inv.yaml:7:25: hosts[0].installer.locale: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "disk-option": [
        "inv.yaml:7:23: hosts[0].installer.disk: String should match pattern '^[a-z][a-z0-9]{1,15}$' (got '-sda')",
    ],
    "disk-path": [
        "inv.yaml:7:23: hosts[0].installer.disk: String should match pattern '^[a-z][a-z0-9]{1,15}$' (got '/dev/sda')",
    ],
    "mirror-semicolon": [
        "inv.yaml:7:25: hosts[0].installer.mirror: 'http://m.example/d;reboot' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "mirror-quote": [
        'inv.yaml:7:25: hosts[0].installer.mirror: "http://m.example/d\'x" is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)',
    ],
    "mirror-command-substitution": [
        "inv.yaml:7:25: hosts[0].installer.mirror: 'http://m.example/$(reboot)' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "mirror-space": [
        "inv.yaml:7:25: hosts[0].installer.mirror: 'http://m.example/d --proxy=x' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "mirror-newline": [
        "inv.yaml:7:25: hosts[0].installer.mirror: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "mirror-userinfo": [
        "inv.yaml:7:25: hosts[0].installer.mirror: 'http://u:p@m.example/d' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "mirror-file-scheme": [
        "inv.yaml:7:25: hosts[0].installer.mirror: 'file:///etc/shadow' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "mirror-leading-dash": [
        "inv.yaml:7:25: hosts[0].installer.mirror: '-http://m.example/d' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "mirror-nfs-debian": [
        "inv.yaml:8:25: hosts[0].installer.mirror: debian-installer needs an http, https or ftp mirror, not nfs",
    ],
    "agent-repo-backtick": [
        "inv.yaml:7:29: hosts[0].installer.agent_repo: 'http://m.example/`reboot`' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
    ],
    "ovs-repo-newline": [
        "inv.yaml:7:27: hosts[0].installer.ovs_repo: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "password-plaintext": [
        "inv.yaml:7:34: hosts[0].access.root_password_hash: must be a SHA-512 crypt hash ($6$salt$hash, e.g. from `openssl passwd -6`); plaintext passwords are refused",
    ],
    "password-hash-newline": [
        "inv.yaml:7:34: hosts[0].access.root_password_hash: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "ssh-key-newline-second-key": [
        "inv.yaml:7:36: hosts[0].access.ssh_authorized_keys[0]: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "ssh-key-options-prefix": [
        "inv.yaml:7:36: hosts[0].access.ssh_authorized_keys[0]: is not an OpenSSH public key line (type, base64 key, optional comment)",
    ],
    "ssh-key-carriage-return": [
        "inv.yaml:7:36: hosts[0].access.ssh_authorized_keys[0]: control character U+000D is not allowed (no newlines, tabs or other control characters in inventory values)",
    ],
    "bridge-gateway-no-uplink": [
        "inv.yaml:9:17: hosts[0].topology.bridges[0]: bridge 'cloudbr0' has an address and a gateway but no uplink: the gateway is unreachable (set 'uplink' to a bond or NIC)",
    ],
    "vlan-on-bond-member": [
        "inv.yaml:8:23: hosts[0].storage.parent: VLAN parent 'eth0' is a member of bond 'bond0': a bond member carries no traffic of its own; put the VLAN on 'bond0'",
    ],
    "bridge-mtu-over-default-uplink": [
        "inv.yaml:9:53: hosts[0].topology.bridges[0].mtu: MTU 9000 of 'cloudbr0' is above the MTU of its parent 'eth0' (1500, the default): set 'mtu' on 'eth0' too",
    ],
    "ovs-bond-no-bridge": [
        "inv.yaml:8:22: hosts[0].topology.bonds[0].name: Open vSwitch bond 'bond1' is no bridge's uplink: an OVS bond exists only as a bridge port (set it as a bridge's uplink or remove it)",
    ],
}


CASE_IDS = [cid for cid, _ in CASES]


def test_the_corpus_is_large_and_every_case_has_its_outcome() -> None:
    assert len(CASES) >= 100
    assert len(set(CASE_IDS)) == len(CASES)
    assert set(EXPECTED) == set(CASE_IDS)


@pytest.mark.parametrize(("cid", "text"), CASES, ids=CASE_IDS)
def test_hostile_inventory_is_refused_precisely(
    cid: str,
    text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("inv.yaml").write_text(text, encoding="utf-8", newline="")
    assert cli.main(["render", "inv.yaml", "-o", "out"]) == 1
    out, err = capsys.readouterr()
    n = len(EXPECTED[cid])
    summary = f"cloudbr: {n} problem{'s' if n != 1 else ''}; nothing written"
    assert err.split("\n") == [*EXPECTED[cid], summary, ""]
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.yaml"]
