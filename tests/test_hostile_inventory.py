"""Hostile addresses, MACs and values aimed at the command lines and installer documents
cloudbr writes (timezone, mirror, keys, ...), and the semantic rules of issue 11. Every case
exits 1 with exactly its FILE:LINE:COL lines and writes
nothing (the YAML and name cases live in tests/support/hostile_*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudbr import cli
from tests.support import hostile_names, hostile_yaml
from tests.support.hostile import TWO_NICS, gateway, host, topo

CASES: list[tuple[str, str, list[str]]] = [
    (
        "addr-trailing-newline",
        'hosts:\n  - hostname: kvmhost1\n    address: "192.168.100.20/24\\n"\n',
        [
            "inv.yaml:3:14: hosts[0].address: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "addr-loopback",
        "hosts:\n  - hostname: kvmhost1\n    address: 127.0.0.2/8\n",
        [
            "inv.yaml:3:14: hosts[0].address: 127.0.0.2 is a loopback address, not a host address",
        ],
    ),
    (
        "addr-multicast",
        "hosts:\n  - hostname: kvmhost1\n    address: 224.0.0.5/4\n",
        [
            "inv.yaml:3:14: hosts[0].address: 224.0.0.5 is a multicast address, not a host address",
        ],
    ),
    (
        "addr-unspecified",
        "hosts:\n  - hostname: kvmhost1\n    address: 0.0.0.0/32\n",
        [
            "inv.yaml:3:14: hosts[0].address: 0.0.0.0 is the unspecified address, not a host address",
        ],
    ),
    (
        "addr6-loopback",
        "hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: ::1/128\n",
        [
            "inv.yaml:5:15: hosts[0].address6: ::1 is a loopback address, not a host address",
        ],
    ),
    (
        "addr6-unspecified",
        "hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: ::/128\n",
        [
            "inv.yaml:5:15: hosts[0].address6: :: is the unspecified address, not a host address",
        ],
    ),
    (
        "addr6-multicast",
        "hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: ff02::1/16\n",
        [
            "inv.yaml:5:15: hosts[0].address6: ff02::1 is a multicast address, not a host address",
        ],
    ),
    (
        "addr6-scope-id",
        'hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: "fe80::2%eth0/64"\n',
        [
            "inv.yaml:5:15: hosts[0].address6: 'fe80::2%eth0/64': scope ids ('%') are not supported",
        ],
    ),
    (
        "gateway6-scope-injection",
        'hosts:\n  - hostname: kvmhost1\n    ipv6: true\n    address: 192.168.100.20/24\n    address6: 2001:db8::20/64\n    gateway6: "fe80::1%x up reboot"\n',
        [
            "inv.yaml:6:15: hosts[0].gateway6: 'fe80::1%x up reboot': scope ids ('%') are not supported",
        ],
    ),
    (
        "gateway-network-address",
        gateway("192.168.100.0"),
        [
            "inv.yaml:6:14: hosts[0].gateway: gateway 192.168.100.0 is the network address of 192.168.100.0/24, not a router's address",
        ],
    ),
    (
        "gateway-broadcast-address",
        gateway("192.168.100.255"),
        [
            "inv.yaml:6:14: hosts[0].gateway: gateway 192.168.100.255 is the broadcast address of 192.168.100.0/24, not a router's address",
        ],
    ),
    (
        "gateway-newline",
        gateway('"192.168.100.1\\n"'),
        [
            "inv.yaml:6:14: hosts[0].gateway: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "gateway-space-injection",
        gateway('"192.168.100.1 up reboot"'),
        [
            "inv.yaml:6:14: hosts[0].gateway: '192.168.100.1 up reboot' is not a valid IP address",
        ],
    ),
    (
        "gateway-ipv6-on-v4",
        gateway("2001:db8::1"),
        [
            "inv.yaml:6:14: hosts[0].gateway: gateway 2001:db8::1 is IPv6: use gateway6",
        ],
    ),
    (
        "dns-server-newline",
        host('    dns: {servers: ["192.168.100.5\\nnameserver 6.6.6.6"]}\n'),
        [
            "inv.yaml:7:21: hosts[0].dns.servers[0]: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "dns-server-hostname",
        host("    dns: {servers: [dns.example]}\n"),
        [
            "inv.yaml:7:21: hosts[0].dns.servers[0]: 'dns.example' is not a valid IP address",
        ],
    ),
    (
        "mac-multicast",
        host('    macs: {eth0: "01:00:5e:00:00:01"}\n'),
        [
            "inv.yaml:7:18: hosts[0].macs.eth0: 01:00:5e:00:00:01 is a multicast MAC address (the first octet is odd)",
        ],
    ),
    (
        "mac-broadcast",
        host('    macs: {eth0: "ff:ff:ff:ff:ff:ff"}\n'),
        [
            "inv.yaml:7:18: hosts[0].macs.eth0: ff:ff:ff:ff:ff:ff is the broadcast address, not a NIC's MAC address",
        ],
    ),
    (
        "mac-zero",
        host('    macs: {eth0: "00:00:00:00:00:00"}\n'),
        [
            "inv.yaml:7:18: hosts[0].macs.eth0: 00:00:00:00:00:00 is the all-zero MAC address, not a NIC's MAC address",
        ],
    ),
    (
        "mac-newline",
        host('    macs: {eth0: "52:54:00:00:00:01\\n"}\n'),
        [
            "inv.yaml:7:18: hosts[0].macs.eth0: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "mac-dashes",
        host("    macs: {eth0: 52-54-00-00-00-01}\n"),
        [
            "inv.yaml:7:18: hosts[0].macs.eth0: '52-54-00-00-00-01' is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)",
        ],
    ),
    (
        "mac-seven-octets",
        host('    macs: {eth0: "52:54:00:00:00:01:02"}\n'),
        [
            "inv.yaml:7:18: hosts[0].macs.eth0: '52:54:00:00:00:01:02' is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)",
        ],
    ),
    (
        "timezone-option",
        host("    installer: {timezone: --nontp}\n"),
        [
            "inv.yaml:7:27: hosts[0].installer.timezone: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' (got '--nontp')",
        ],
    ),
    (
        "timezone-newline",
        host('    installer: {timezone: "UTC\\nrootpw --plaintext x"}\n'),
        [
            "inv.yaml:7:27: hosts[0].installer.timezone: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "timezone-space",
        host('    installer: {timezone: "UTC --utc"}\n'),
        [
            "inv.yaml:7:27: hosts[0].installer.timezone: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' (got 'UTC --utc')",
        ],
    ),
    (
        "keyboard-option",
        host("    installer: {keyboard: -us}\n"),
        [
            "inv.yaml:7:27: hosts[0].installer.keyboard: '-us' is not an XKB keyboard layout (did you mean 'us'?): give one of xkb-data's layouts (us, gb, de, fr, ...); variants are not supported",
        ],
    ),
    (
        "locale-newline",
        host('    installer: {locale: "en_US.UTF-8\\nd-i x"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.locale: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "disk-option",
        host("    installer: {disk: -sda}\n"),
        [
            "inv.yaml:7:23: hosts[0].installer.disk: String should match pattern '^[a-z][a-z0-9]{1,15}$' (got '-sda')",
        ],
    ),
    (
        "disk-path",
        host("    installer: {disk: /dev/sda}\n"),
        [
            "inv.yaml:7:23: hosts[0].installer.disk: String should match pattern '^[a-z][a-z0-9]{1,15}$' (got '/dev/sda')",
        ],
    ),
    (
        "mirror-semicolon",
        host('    installer: {mirror: "http://m.example/d;reboot"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: 'http://m.example/d;reboot' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "mirror-quote",
        host('    installer: {mirror: "http://m.example/d\'x"}\n'),
        [
            'inv.yaml:7:25: hosts[0].installer.mirror: "http://m.example/d\'x" is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)',
        ],
    ),
    (
        "mirror-command-substitution",
        host('    installer: {mirror: "http://m.example/$(reboot)"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: 'http://m.example/$(reboot)' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "mirror-space",
        host('    installer: {mirror: "http://m.example/d --proxy=x"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: 'http://m.example/d --proxy=x' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "mirror-newline",
        host('    installer: {mirror: "http://m.example/d\\n%post"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "mirror-userinfo",
        host('    installer: {mirror: "http://u:p@m.example/d"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: 'http://u:p@m.example/d' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "mirror-file-scheme",
        host('    installer: {mirror: "file:///etc/shadow"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: 'file:///etc/shadow' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "mirror-leading-dash",
        host('    installer: {mirror: "-http://m.example/d"}\n'),
        [
            "inv.yaml:7:25: hosts[0].installer.mirror: '-http://m.example/d' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "mirror-nfs-debian",
        host('    installer: {mirror: "nfs://m.example/debian"}\n', distro="debian12"),
        [
            "inv.yaml:8:25: hosts[0].installer.mirror: debian-installer needs an http, https or ftp mirror, not nfs",
        ],
    ),
    (
        "agent-repo-backtick",
        host('    installer: {agent_repo: "http://m.example/`reboot`"}\n'),
        [
            "inv.yaml:7:29: hosts[0].installer.agent_repo: 'http://m.example/`reboot`' is not a plain http(s)/ftp/nfs URL (host, optional port, and a path of letters, digits and ._~/%+=,@- only)",
        ],
    ),
    (
        "ovs-repo-newline",
        host('    installer: {ovs_repo: "http://m.example/ovs\\nrepo --name=x"}\n'),
        [
            "inv.yaml:7:27: hosts[0].installer.ovs_repo: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "password-plaintext",
        host("    access: {root_password_hash: hunter2}\n"),
        [
            "inv.yaml:7:34: hosts[0].access.root_password_hash: must be a SHA-512 crypt hash ($6$salt$hash, e.g. from `openssl passwd -6`); plaintext passwords are refused",
        ],
    ),
    (
        "password-hash-newline",
        host(
            '    access: {root_password_hash: "$6$cloudbrlab$iTU3lxUd69EYmQuLMqd2Xh1HzO4FmuUBozC84qZLzvkcCaGexk9uYdMrlsmWWF0fBxRIIqG171n5.5fgjTOdY1\\nsshpw x"}\n'
        ),
        [
            "inv.yaml:7:34: hosts[0].access.root_password_hash: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "ssh-key-newline-second-key",
        host(
            '    access: {ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 a\\nssh-rsa AAAA evil"]}\n'
        ),
        [
            "inv.yaml:7:36: hosts[0].access.ssh_authorized_keys[0]: control character U+000A is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "ssh-key-options-prefix",
        host(
            '    access: {ssh_authorized_keys: ["command=\\"reboot\\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3"]}\n'
        ),
        [
            "inv.yaml:7:36: hosts[0].access.ssh_authorized_keys[0]: is not an OpenSSH public key line (type, base64 key, optional comment)",
        ],
    ),
    (
        "ssh-key-carriage-return",
        host(
            '    access: {ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 a\\rb"]}\n'
        ),
        [
            "inv.yaml:7:36: hosts[0].access.ssh_authorized_keys[0]: control character U+000D is not allowed (no newlines, tabs or other control characters in inventory values)",
        ],
    ),
    (
        "bridge-gateway-no-uplink",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0}, {name: cloudbr1, uplink: eth1}]\n"
        ),
        [
            "inv.yaml:9:17: hosts[0].topology.bridges[0]: bridge 'cloudbr0' has an address and a gateway but no uplink: the gateway is unreachable (set 'uplink' to a bond or NIC)",
        ],
    ),
    (
        "vlan-on-bond-member",
        host("    storage_address: 10.0.100.20/24\n    storage: {parent: eth0}\n"),
        [
            "inv.yaml:8:23: hosts[0].storage.parent: VLAN parent 'eth0' is a member of bond 'bond0': a bond member carries no traffic of its own; put the VLAN on 'bond0'",
        ],
    ),
    (
        "bridge-mtu-over-default-uplink",
        topo(
            TWO_NICS
            + "      bonds: []\n      bridges: [{name: cloudbr0, uplink: eth0, mtu: 9000}, {name: cloudbr1, uplink: eth1}]\n"
        ),
        [
            "inv.yaml:9:53: hosts[0].topology.bridges[0].mtu: MTU 9000 of 'cloudbr0' is above the MTU of its parent 'eth0' (1500, the default): set 'mtu' on 'eth0' too",
        ],
    ),
    (
        "ovs-bond-no-bridge",
        topo(
            "      nics: [{name: eth0}, {name: eth1}, {name: eth2}]\n      bonds: [{name: bond1, members: [eth1, eth2]}]\n      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1}]\n",
            backend="ovs",
        ),
        [
            "inv.yaml:8:22: hosts[0].topology.bonds[0].name: Open vSwitch bond 'bond1' is no bridge's uplink: an OVS bond exists only as a bridge port (set it as a bridge's uplink or remove it)",
        ],
    ),
]


# Every case of the corpus: YAML forms and scalars, names, then the cases above.
CORPUS = hostile_yaml.CASES + hostile_names.CASES + CASES


def test_the_corpus_holds_over_a_hundred_distinct_cases() -> None:
    ids = [c[0] for c in CORPUS]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_refused_precisely(
    text: str,
    expected: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`cloudbr render inv.yaml -o out` exits 1 with exactly `expected` and writes nothing."""
    monkeypatch.chdir(tmp_path)
    Path("inv.yaml").write_text(text, encoding="utf-8", newline="")
    assert cli.main(["render", "inv.yaml", "-o", "out"]) == 1
    out, err = capsys.readouterr()
    n = len(expected)
    summary = f"cloudbr: {n} problem{'s' if n != 1 else ''}; nothing written"
    assert err.split("\n") == [*expected, summary, ""]
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.yaml"]
