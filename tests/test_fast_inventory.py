"""The fast paths of reading an inventory (`fastload`, `ipfast`) against the positional reader
and `ipaddress`: the fast reader reads a document only when the positional reader finds no
problem in it, and then the same data; an error deep in a large inventory still gets its line
and column."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbr.inventory import InventoryError, fastload, ipfast, parse_inventory, schema, source
from tests.support import hostile_names, hostile_yaml
from tests.test_hostile_inventory import CASES as HOSTILE

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))
CORPUS = [(name, text) for name, text, _ in HOSTILE + hostile_yaml.CASES + hostile_names.CASES]
CORPUS += [(p.name, p.read_text()) for p in EXAMPLES]
CORPUS += [
    ("quoted-merge-key", "'<<': 1\n"),
    ("two-documents", "a: 1\n---\nb: 2\n"),
    ("empty", ""),
    ("comment-only", "# nothing\n"),
    ("scalar-root", "just text\n"),
    ("key-kinds", "1: a\ntrue: b\n~: c\n1.5: d\n'x': e\n"),
    ("nested-31", "a: " + "[" * 31 + "]" * 31 + "\n"),
    ("nested-32", "a: " + "[" * 32 + "]" * 32 + "\n"),
    ("list-as-key", "? [a]\n: b\n"),
    ("tab-in-quoted", 'a: "x\\ty"\n'),
    ("folded-newline", "a: x\n\n  y\n"),
    ("non-specific-tag", "a: ! 1\n"),
]


def _positional(text: str) -> tuple[str | None, list[source.Problem]]:
    """The positional reader's data (as repr: NaN is not equal to itself) and problems."""
    src = source.Source("inv.yaml", None)
    try:
        node, anchored = source._compose(text, "inv.yaml")
    except InventoryError:
        return None, []
    data = {} if node is None else source._Walker(src, anchored).build(node, ())
    return repr(data), src.problems


@pytest.mark.parametrize(("name", "text"), CORPUS, ids=[c[0] for c in CORPUS])
def test_fast_reader_reads_only_what_the_positional_reader_finds_clean(
    name: str, text: str
) -> None:
    fast = fastload.load_plain(text)
    data, problems = _positional(text)
    if fast is not None:
        assert data is not None, f"{name}: the positional reader refuses the text"
        assert problems == []
        assert repr(fast[0]) == data


def test_fast_reader_reads_the_examples() -> None:
    assert all(fastload.load_plain(p.read_text()) is not None for p in EXAMPLES)


def _big(hosts: int) -> str:
    lines = ["site:", "  domain: bench.example", "hosts:"]
    for i in range(hosts):
        lines += [
            f"- hostname: kvm{i:05d}",
            f"  address: 10.{16 + i // 60000}.{i // 250 % 240}.{i % 250 + 2}/16",
            "  gateway: 10.16.0.1",
        ]
    return "\n".join(lines) + "\n"


def _position(text: str, needle: str) -> str:
    at = text.index(needle)
    line_start = text.rfind("\n", 0, at) + 1
    return f"{text.count(chr(10), 0, at) + 1}:{at - line_start + 1}"


def test_an_error_in_the_last_hosts_keeps_its_line_and_column() -> None:
    # 2,000 hosts (6,000 lines): the bench's 10,000 cost 5x the time and test nothing more.
    text = _big(2000)
    bad = text.replace("- hostname: kvm01999\n", "- hostname: kvm01999\n  colour: blue\n")
    bad = bad.replace(
        "- hostname: kvm01998\n", "- hostname: kvm01998\n  macs: {eth0: 'ff:ff:ff:ff:ff:ff'}\n"
    )
    with pytest.raises(InventoryError) as err:
        parse_inventory(bad, "inv.yaml")
    assert err.value.lines == [
        f"inv.yaml:{_position(bad, chr(39) + 'ff:')}: hosts[1998].macs.eth0: "
        "ff:ff:ff:ff:ff:ff is the broadcast address, not a NIC's MAC address",
        f"inv.yaml:{_position(bad, 'colour')}: hosts[1999].colour: unknown key 'colour' "
        "(allowed: domain, distro, backend, bond, dns, storage, ipv6, traffic_labels, "
        "topology, blacklist_bridge_module, access, installer, hostname, address, gateway, "
        "address6, gateway6, storage_address, macs, reachability_target)",
    ]


def test_a_duplicate_address_of_the_last_host_points_at_it() -> None:
    text = _big(2000)
    last = text.rindex("  address: ")
    bad = text[:last] + "  address: 10.16.0.2/16\n" + text[text.index("\n", last) + 1 :]
    with pytest.raises(InventoryError) as err:
        parse_inventory(bad, "inv.yaml")
    assert err.value.lines == [
        f"inv.yaml:{bad.count(chr(10), 0, last) + 1}:12: hosts[1999].address: duplicate IP "
        "address 10.16.0.2 (also used by host kvm00000)"
    ]


V4_TEXTS = [
    "10.0.0.1/8",
    "010.0.0.1/8",
    "10.0.0.01/24",
    "256.0.0.1/8",
    "10.0.0.1/33",
    "10.0.0.1/032",
    "10.0.0.1/08",
    "10.0.0.0/24",
    "10.0.0.255/24",
    "10.0.0.0/31",
    "10.0.0.1/31",
    "10.0.0.7/32",
    "127.0.0.2/8",
    "224.0.0.5/4",
    "239.255.255.255/32",
    "0.0.0.0/0",
    "0.0.0.0/32",
    "255.255.255.255/32",
    "1.2.3.4/255.255.0.0",
    "1.2.3.4",
    "1.2.3.4/",
    "1.2.3/24",
    "\u0661.2.3.4/24",  # a non-ASCII digit
    "fe80::1/64",
    "10.0.0.1/24%eth0",
]


def _slow(fn: object, value: str) -> tuple[str, str]:
    try:
        return "ok", str(fn(value))  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc)


def _agree(text: str) -> None:
    ip = text.split("/")[0]
    assert _slow(ipfast.interface, text) == _slow(ipaddress.ip_interface, text)
    assert _slow(ipfast.address, ip) == _slow(ipaddress.ip_address, ip)
    if ipfast.v4_iface(text) is not None:
        assert ipfast.interface(text) == ipaddress.ip_interface(text)
    if ipfast.is_host_v4_iface(text):
        # What the schema's full checks return for it: the text itself.
        iface = ipaddress.IPv4Interface(text)
        net = iface.network
        assert str(iface) == text
        assert net.num_addresses <= 2 or iface.ip not in (
            net.network_address,
            net.broadcast_address,
        )
        assert not iface.ip.is_loopback
        assert not iface.ip.is_multicast
        assert not iface.ip.is_unspecified


@pytest.mark.parametrize("text", V4_TEXTS)
def test_ipfast_agrees_with_ipaddress(text: str) -> None:
    _agree(text)


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_ipfast_agrees_with_ipaddress_on_any_address(ip: int, prefix: int) -> None:
    _agree(f"{ipaddress.IPv4Address(ip)}/{prefix}")


@pytest.mark.parametrize("text", V4_TEXTS)
def test_schema_fast_paths_give_the_full_checks_answer(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _slow(schema.host_interface, text), _slow(schema._address, text.split("/")[0])
    monkeypatch.setattr(ipfast, "is_host_v4_iface", lambda _text: False)
    monkeypatch.setattr(ipfast, "v4_int", lambda _text: None)
    assert fast == (_slow(schema.host_interface, text), _slow(schema._address, text.split("/")[0]))
