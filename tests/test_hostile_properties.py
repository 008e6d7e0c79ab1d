"""Arbitrary text in every string field of an inventory: cloudbr answers 0 (rendered) or 1
(refused, with FILE:LINE:COL lines), never a traceback or exit 3; and a value it accepts never
starts a line of its own in any generated file (so it cannot add a command, a directive or a
stanza)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbr import cli
from cloudbr.inventory import InventoryError, parse_inventory

HASH = (
    "$6$cloudbrlab$iTU3lxUd69EYmQuLMqd2Xh1HzO4FmuUBozC84qZLzvkcCaGexk9uYdMrlsmWWF0fBxRIIqG171n5"
    ".5fgjTOdY1"
)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3 ops@lab"

BASE: dict[str, Any] = {
    "site": {
        "domain": "mylab.local",
        "dns": {"servers": ["192.168.100.5"], "search": ["mycloud.local"]},
        "storage": {"vlan": 100, "parent": "bond0", "bridge": "cloudbr100"},
        "traffic_labels": {"management": "cloudbr0", "guest": "cloudbr0", "public": "cloudbr1"},
        "access": {"root_password_hash": HASH, "ssh_authorized_keys": [KEY]},
        "installer": {
            "mirror": "http://deb.debian.org/debian",
            "agent_repo": "http://download.cloudstack.org/ubuntu",
            "ovs_repo": "http://mirror.example/ovs",
            "disk": "sda",
            "timezone": "Europe/Berlin",
            "keyboard": "us",
            "locale": "en_US.UTF-8",
        },
        "topology": {
            "nics": [{"name": f"eth{i}", "mac": f"52:54:00:00:00:0{i}"} for i in range(4)],
            "bonds": [
                {"name": "bond0", "members": ["eth0", "eth1"], "primary": "eth0"},
                {"name": "bond1", "members": ["eth2", "eth3"]},
            ],
            "bridges": [
                {"name": "cloudbr0", "uplink": "bond0"},
                {
                    "name": "cloudbr1",
                    "uplink": "bond1",
                    "addresses": ["203.0.113.10/24"],
                    "dns": {"servers": ["203.0.113.53"], "search": ["public.example"]},
                },
            ],
            "vlans": [
                {
                    "id": 200,
                    "parent": "bond0",
                    "bridge": "cloudbr200",
                    "name": "vlan200",
                    "addresses": ["10.0.200.20/24"],
                }
            ],
        },
    },
    "hosts": [
        {
            "hostname": "kvmhost1",
            "address": "192.168.100.20/24",
            "gateway": "192.168.100.1",
            "storage_address": "10.0.100.20/24",
            "reachability_target": "192.168.100.1",
            "macs": {"eth0": "52:54:00:12:34:56"},
        }
    ],
}

# Every string field, as a path into BASE (and files where the value is the whole line).
FIELDS: list[tuple[str | int, ...]] = [
    ("site", "domain"),
    ("site", "dns", "servers", 0),
    ("site", "dns", "search", 0),
    ("site", "storage", "parent"),
    ("site", "storage", "bridge"),
    ("site", "traffic_labels", "management"),
    ("site", "traffic_labels", "guest"),
    ("site", "traffic_labels", "public"),
    ("site", "access", "root_password_hash"),
    ("site", "access", "ssh_authorized_keys", 0),
    *(("site", "installer", k) for k in ("mirror", "agent_repo", "ovs_repo", "disk")),
    *(("site", "installer", k) for k in ("timezone", "keyboard", "locale")),
    ("site", "topology", "nics", 1, "name"),
    ("site", "topology", "nics", 1, "mac"),
    ("site", "topology", "bonds", 0, "name"),
    ("site", "topology", "bonds", 0, "members", 1),
    ("site", "topology", "bonds", 0, "primary"),
    ("site", "topology", "bridges", 1, "name"),
    ("site", "topology", "bridges", 1, "uplink"),
    ("site", "topology", "bridges", 1, "addresses", 0),
    ("site", "topology", "bridges", 1, "dns", "servers", 0),
    ("site", "topology", "bridges", 1, "dns", "search", 0),
    ("site", "topology", "vlans", 0, "parent"),
    ("site", "topology", "vlans", 0, "bridge"),
    ("site", "topology", "vlans", 0, "name"),
    ("site", "topology", "vlans", 0, "addresses", 0),
    ("hosts", 0, "hostname"),
    ("hosts", 0, "address"),
    ("hosts", 0, "gateway"),
    ("hosts", 0, "storage_address"),
    ("hosts", 0, "reachability_target"),
    ("hosts", 0, "macs", "eth0"),
    ("hosts", 0, "distro"),
    ("hosts", 0, "backend"),
]
# Values that are, by design, a whole line of some file.
WHOLE_LINE = {
    ("hosts", 0, "hostname"): "/etc/hostname",
    ("site", "access", "ssh_authorized_keys", 0): "/root/.ssh/authorized_keys",
}

# Arbitrary text, and arbitrary text glued to a valid value (the likelier attack).
HOSTILE_PARTS = st.sampled_from(["\n", "\r", "\x85", "\u2028", "\t", " ", ";", "$(", "'", "-", "#"])
TEXT = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(["eth1", "bond0", "a.b", "10.0.0.1", "UTC"]), HOSTILE_PARTS)
    .map("".join)
    .flatmap(lambda v: st.text(max_size=12).map(lambda t: v + t)),
)


def _set(doc: dict[str, Any], path: tuple[str | int, ...], value: str) -> None:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _lines_starting_with(root: Path, value: str, allowed: str | None) -> list[str]:
    found = []
    for f in root.rglob("*"):
        if not f.is_file() or f.suffix == ".iso":
            continue
        rel = "/" + str(f.relative_to(root)).split("/rootfs/", 1)[-1]
        if allowed and rel.endswith(allowed):
            continue
        text = f.read_bytes().decode("utf-8", "replace")
        found += [f"{rel}: {line}" for line in text.splitlines() if line.startswith(value)]
    return found


@pytest.mark.parametrize("distro", ["centos7", "ubuntu1804", "debian12"])
@pytest.mark.parametrize("backend", ["linuxbridge", "ovs"])
def test_the_base_inventory_renders(distro: str, backend: str, tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["hosts"][0].update(distro=distro, backend=backend)
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(doc))
    assert cli.main(["render", str(inv), "-o", str(tmp_path / "out"), "-q"]) == 0


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    field=st.sampled_from(FIELDS),
    value=TEXT,
    distro=st.sampled_from(["centos7", "ubuntu1804", "debian12"]),
    backend=st.sampled_from(["linuxbridge", "ovs"]),
)
def test_arbitrary_text_in_any_field_never_crashes_or_starts_a_line(
    field: tuple[str | int, ...],
    value: str,
    distro: str,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = copy.deepcopy(BASE)
    doc["hosts"][0].update(distro=distro, backend=backend)
    _set(doc, field, value)
    work = tmp_path_factory.mktemp("fuzz")
    inv = work / "inv.yaml"
    inv.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = work / "out"
    code = cli.main(["render", str(inv), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    if code == 1:
        lines = err.splitlines()
        assert re.fullmatch(r"cloudbr: [0-9]+ problems?; nothing written", lines[-1])
        located = re.compile(re.escape(str(inv)) + r":[0-9]+:[0-9]+: \S.*: .+")
        assert all(located.fullmatch(line) for line in lines[:-1]), lines
        assert not out.exists()
        return
    assert err == ""
    if len(value.strip()) >= 4:
        assert _lines_starting_with(out, value, WHOLE_LINE.get(field)) == []


YAML_CHARS = st.sampled_from([*"abcdehostnamx019:-[]{},&*!|>'\"#%@`?<= \n\t.\\~", "\x85"])
LOCATED = re.compile(r"inv\.yaml:[0-9]+:[0-9]+: \S.*: .+")


def refusal(text: str) -> list[str]:
    """The lines an InventoryError lists for `text` ([] if it is a valid inventory); any
    other exception propagates and fails the test."""
    try:
        parse_inventory(text, "inv.yaml")
    except InventoryError as exc:
        return exc.lines
    return []


@settings(max_examples=300, deadline=None)
@given(st.text(YAML_CHARS, max_size=80))
def test_arbitrary_yaml_text_is_parsed_or_refused_with_positions(text: str) -> None:
    lines = refusal(text)
    assert all(LOCATED.fullmatch(line) for line in lines), lines


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10))
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["site", "hosts", "x"]), TREES, min_size=1, max_size=3))
def test_arbitrary_structures_are_refused_with_positions(doc: dict[str, Any]) -> None:
    lines = refusal(yaml.safe_dump(doc, allow_unicode=True))
    assert lines  # no such document has a valid host
    assert all(LOCATED.fullmatch(line) for line in lines), lines
