"""Hostile and broken YAML: anchors and alias bombs, merge keys, non-core tags, deep nesting,
control characters, and YAML 1.1 scalars whose meaning other tools change. Run by
tests/test_hostile_inventory.py."""

from __future__ import annotations

from tests.support.hostile import HOSTS, STD_BRIDGES, TWO_NICS, B, host, topo

CASES: list[tuple[str, str, list[str]]] = [
    (
        "yaml-anchor-alias",
        "site: &s {domain: mylab.local}\nx: *s\n" + HOSTS,
        [
            "inv.yaml:1:7: site: anchor &s: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
            "inv.yaml:2:4: x: alias *s: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        ],
    ),
    (
        "yaml-alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        + B,
        [
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
    ),
    (
        "yaml-recursive-alias",
        "site: &r [*r]\n" + HOSTS,
        [
            "inv.yaml:1:7: site: anchor &r: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
            "inv.yaml:1:11: site[0]: alias *r: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        ],
    ),
    (
        "yaml-undefined-alias",
        "site: *nope\n" + HOSTS,
        [
            "inv.yaml:1:7: site: alias *nope: anchors and aliases are not supported; write the value out (settings shared by hosts go under 'site')",
        ],
    ),
    (
        "yaml-alias-as-key",
        B + "    *k : 1\n",
        [
            "inv.yaml:7:5: hosts[0]: a key must be a plain word, not a list, mapping or alias",
        ],
    ),
    (
        "yaml-merge-key",
        "site:\n  <<: {domain: mylab.local}\n" + HOSTS,
        [
            "inv.yaml:2:3: site: merge keys (<<) are not supported: write the keys out",
        ],
    ),
    (
        "yaml-python-name",
        "site: !!python/name:os.system\n" + HOSTS,
        [
            "inv.yaml:1:7: site: tag !!python/name:os.system is not supported (core YAML types only)",
        ],
    ),
    (
        "yaml-python-apply",
        "site: !!python/object/apply:os.system [reboot]\n" + HOSTS,
        [
            "inv.yaml:1:7: site: tag !!python/object/apply:os.system is not supported (plain lists only)",
        ],
    ),
    (
        "yaml-binary",
        B + "    hostname: !!binary a3ZtaG9zdDE=\n".replace("hostname", "domain"),
        [
            "inv.yaml:7:13: hosts[0].domain: tag !!binary is not supported (core YAML types only)",
        ],
    ),
    (
        "yaml-timestamp",
        B + "    domain: !!timestamp 2001-12-14\n",
        [
            "inv.yaml:7:13: hosts[0].domain: tag !!timestamp is not supported (core YAML types only)",
        ],
    ),
    (
        "yaml-set",
        "site: !!set {a, b}\n" + HOSTS,
        [
            "inv.yaml:1:7: site: tag !!set is not supported (plain mappings only)",
            "inv.yaml:1:14: site.a: unknown key 'a' (allowed: domain, distro, backend, bond, dns, storage, ipv6, traffic_labels, topology, blacklist_bridge_module, access, installer)",
            "inv.yaml:1:17: site.b: unknown key 'b' (allowed: domain, distro, backend, bond, dns, storage, ipv6, traffic_labels, topology, blacklist_bridge_module, access, installer)",
        ],
    ),
    (
        "yaml-omap",
        "site: !!omap [{domain: x}]\n" + HOSTS,
        [
            "inv.yaml:1:7: site: tag !!omap is not supported (plain lists only)",
        ],
    ),
    (
        "yaml-local-tag",
        "site: !local {domain: x}\n" + HOSTS,
        [
            "inv.yaml:1:7: site: tag !local is not supported (plain mappings only)",
        ],
    ),
    (
        "yaml-int-tag-on-text",
        B + "    storage: {vlan: !!int ten}\n",
        [
            "inv.yaml:7:21: hosts[0].storage.vlan: 'ten' is not a valid !!int",
        ],
    ),
    (
        "yaml-deep-flow",
        "site: " + "[" * 3000 + "]" * 3000 + "\n" + HOSTS,
        [
            "inv.yaml:1:38: (document): nested more than 32 levels deep",
        ],
    ),
    (
        "yaml-deep-block",
        "site:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(40)) + HOSTS,
        [
            "inv.yaml:32:63: (document): nested more than 32 levels deep",
        ],
    ),
    (
        "yaml-duplicate-key",
        B + "    address: 192.168.100.21/24\n",
        [
            "inv.yaml:7:5: hosts[0].address: duplicate key 'address' (the earlier value would be lost)",
        ],
    ),
    (
        "yaml-list-as-key",
        B + "    [a, b]: c\n",
        [
            "inv.yaml:7:5: hosts[0]: a key must be a plain word, not a list, mapping or alias",
        ],
    ),
    (
        "yaml-tab-indent",
        B + "\tdistro: debian12\n",
        [
            "inv.yaml:7:1: (document): YAML: found character '\\t' that cannot start any token",
        ],
    ),
    (
        "yaml-not-a-mapping",
        "- hostname: kvmhost1\n",
        [
            "inv.yaml:1:1: (document): expected a mapping with 'hosts'",
        ],
    ),
    (
        "yaml-two-documents",
        B + "---\n" + B,
        [
            "inv.yaml:7:1: (document): YAML: but found another document",
        ],
    ),
    (
        "yaml-unclosed-quote",
        B + '    domain: "mylab\n',
        [
            "inv.yaml:8:1: (document): YAML: found unexpected end of stream",
        ],
    ),
    (
        "yaml-raw-nul",
        B + "    domain: my\x00lab\n",
        [
            "inv.yaml:7:15: (document): character U+0000 is not allowed in YAML text",
        ],
    ),
    (
        "yaml-raw-bell",
        B + "    domain: my\x07lab\n",
        [
            "inv.yaml:7:15: (document): character U+0007 is not allowed in YAML text",
        ],
    ),
    (
        "yaml-raw-c1",
        B + "    domain: my\x9blab\n",
        [
            "inv.yaml:7:15: (document): character U+009B is not allowed in YAML text",
        ],
    ),
    (
        "yaml-nel-in-plain",
        B + "    domain: my\x85lab.local\n",
        [
            "inv.yaml:9:1: (document): YAML: could not find expected ':'",
        ],
    ),
    (
        "yaml-u2028-quoted",
        B + '    domain: "mylab\u2028.local"\n',
        [
            "inv.yaml:7:13: hosts[0].domain: control character U+2028 is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "yaml-escaped-newline",
        B + '    domain: "mylab.local\\nup reboot"\n',
        [
            "inv.yaml:7:13: hosts[0].domain: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "yaml-block-scalar",
        B + "    domain: |\n      mylab.local\n",
        [
            "inv.yaml:7:13: hosts[0].domain: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "yaml-folded-key-newline",
        B + '    "distro\\n": debian12\n',
        [
            "inv.yaml:7:5: hosts[0]['distro\\n']: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "scalar-octal-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0100}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: '0100' is ambiguous: YAML 1.1 reads a leading 0 as octal; write 100 for the number, or quote it ('0100') for text",
        ],
    ),
    (
        "scalar-octal-mtu",
        topo(
            "      nics: [{name: eth0, mtu: 01500}, {name: eth1}]\n"
            + STD_BRIDGES
            + "      bonds: []\n"
        ),
        [
            "inv.yaml:7:32: hosts[0].topology.nics[0].mtu: '01500' is ambiguous: YAML 1.1 reads a leading 0 as octal; write 1500 for the number, or quote it ('01500') for text",
        ],
    ),
    (
        "scalar-0o-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0o144}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: '0o144' is ambiguous between YAML versions: write the decimal number",
        ],
    ),
    (
        "scalar-0b-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0b1100100}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: '0b1100100' is ambiguous between YAML versions: write the decimal number",
        ],
    ),
    (
        "scalar-yes-miimon",
        host("    bond: {miimon: yes}\n"),
        [
            "inv.yaml:7:20: hosts[0].bond.miimon: 'yes' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('yes') for text",
        ],
    ),
    (
        "scalar-on-ipv6",
        host("    ipv6: on\n"),
        [
            "inv.yaml:7:11: hosts[0].ipv6: 'on' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('on') for text",
        ],
    ),
    (
        "scalar-Off-stp",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0, stp: Off}, {name: cloudbr1, uplink: eth1}]\n"
        ),
        [
            "inv.yaml:9:53: hosts[0].topology.bridges[0].stp: 'Off' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('Off') for text",
        ],
    ),
    (
        "scalar-NO-install-agent",
        host("    installer: {install_agent: NO}\n"),
        [
            "inv.yaml:7:32: hosts[0].installer.install_agent: 'NO' is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; write true or false, or quote it ('NO') for text",
        ],
    ),
    (
        "scalar-sexagesimal-mtu",
        topo(
            "      nics: [{name: eth0, mtu: 25:00}, {name: eth1}]\n"
            + STD_BRIDGES
            + "      bonds: []\n"
        ),
        [
            "inv.yaml:7:32: hosts[0].topology.nics[0].mtu: Input should be a valid integer (got '25:00')",
        ],
    ),
    (
        "scalar-underscore-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 1_00}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got '1_00')",
        ],
    ),
    (
        "scalar-float-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 100.5}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got 100.5)",
        ],
    ),
    (
        "scalar-inf-mtu",
        topo(
            "      nics: [{name: eth0, mtu: .inf}, {name: eth1}]\n"
            + STD_BRIDGES
            + "      bonds: []\n"
        ),
        [
            "inv.yaml:7:32: hosts[0].topology.nics[0].mtu: Input should be a valid integer (got inf)",
        ],
    ),
    (
        "scalar-bool-as-vlan",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: true}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got True)",
        ],
    ),
    (
        "scalar-null-hostname",
        "hosts:\n  - hostname: ~\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: Input should be a valid string (got None)",
        ],
    ),
    (
        "scalar-number-hostname",
        "hosts:\n  - hostname: 0100\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: '0100' is ambiguous: YAML 1.1 reads a leading 0 as octal; write 100 for the number, or quote it ('0100') for text",
        ],
    ),
    (
        "scalar-list-hostname",
        "hosts:\n  - hostname: [a]\n    address: 192.168.100.20/24\n",
        [
            "inv.yaml:2:15: hosts[0].hostname: Input should be a valid string",
        ],
    ),
    (
        "scalar-5000-digit-int",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: " + "9" * 5000 + "}\n"),
        ["inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got inf)"],
    ),
    (
        "scalar-huge-hex",
        host("    storage_address: 10.0.100.20/24\n    storage: {vlan: 0x" + "f" * 70 + "}\n"),
        [
            "inv.yaml:8:21: hosts[0].storage.vlan: Input should be a valid integer (got '0x"
            + "f" * 70
            + "')"
        ],
    ),
]
