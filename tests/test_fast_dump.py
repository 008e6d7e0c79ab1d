"""The cheaper YAML and JSON paths (issue 13) give the standard library's and PyYAML's own
bytes: random documents of the types we build, the corner cases of each (strings that read
as other types, multi-line and quoted strings, shared objects, unplain values), and every
document of the example inventories; a seed image mastered on a reused pycdlib image is a new
image's, byte for byte."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbr import iso, jsondump, render, yamldump
from cloudbr.carriers import cloudinit
from cloudbr.inventory import load_inventory
from cloudbr.memo import ByIdentity
from cloudbr.render import netplan
from tests.conftest import EXAMPLES

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Strings that YAML reads as something else, need quotes, or take a block style.
TRICKY = [
    "",
    "true",
    "no",
    "~",
    "null",
    "1",
    "0o17",
    "1.5",
    "1e3",
    ".inf",
    "2001-01-01",
    "<<",
    "=",
    "- a",
    "a: b",
    "#x",
    "x #y",
    " lead",
    "trail ",
    "a\nb",
    "a\nb\n",
    "a\n\n",
    "\n",
    "tab\there",
    "'q'",
    '"d"',
    "é",
    "\u2028",
    "\x85",
    "%x",
    "@x",
    "`x",
    "!x",
    "&a",
    "*a",
    "{x}",
    "[x]",
    "::1",
    "52:54:00:00:00:01",
    "10.0.0.1/24",
    "line  \nspaces  \n",
    "x" * 300,
    "a line\n" * 50,  # long enough to be written by cloudbr, not libyaml
    "x\n\n  y\n" * 60,  # empty and indented lines inside
    "x\n" * 200 + " \n",  # a space before a break
]
scalars = st.one_of(
    st.sampled_from(TRICKY), st.text(max_size=40), st.integers(), st.booleans(), st.none()
)
keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12), st.integers())
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)
OPTIONS: list[dict[str, Any]] = [
    {},
    {"default_flow_style": False},
    {"default_flow_style": False, "allow_unicode": True, "width": 1 << 16},
]


def reference_yaml(doc: Any, dumper: type[yaml.CSafeDumper], **options: Any) -> str:
    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=False, **options)
    return text


@SETTINGS
@given(
    documents, st.sampled_from(OPTIONS), st.sampled_from([yamldump.Dumper, yamldump.LiteralDumper])
)
def test_yaml_is_pyyamls_own(
    doc: Any, options: dict[str, Any], dumper: type[yamldump.Dumper]
) -> None:
    assert yamldump.dump(doc, dumper, **options) == reference_yaml(doc, dumper, **options)


def test_plain_dumper_is_csafedumper_and_literal_takes_blocks() -> None:
    doc = {"a": "x\ny\n", "b": ["1", 1, True, None, "true"]}
    assert yamldump.dump(doc) == reference_yaml(doc, yaml.CSafeDumper)
    assert yamldump.dump(doc, yamldump.LiteralDumper).startswith("a: |\n  x\n  y\nb:\n- '1'\n- 1\n")


def test_a_shared_object_is_anchored_as_pyyaml_does() -> None:
    shared = {"arches": ["default"]}
    doc = {"primary": [shared], "security": [shared]}
    text = yamldump.dump(doc)
    assert "&id001" in text
    assert "*id001" in text
    assert text == reference_yaml(doc, yaml.CSafeDumper)


@pytest.mark.parametrize("value", [1.5, (1, 2), b"\x00", {1.5: "x"}])
def test_other_types_take_the_generic_path(value: Any) -> None:
    doc = {"v": value}
    try:
        expected = reference_yaml(doc, yaml.CSafeDumper)
    except yaml.representer.RepresenterError:
        with pytest.raises(yaml.representer.RepresenterError):
            yamldump.dump(doc)
        return
    assert yamldump.dump(doc) == expected


json_scalars = st.one_of(
    st.sampled_from(TRICKY), st.text(max_size=20), st.integers(), st.booleans(), st.none()
)
json_documents = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@SETTINGS
@given(json_documents, st.sampled_from([1, 2, 4]))
def test_json_is_the_standard_librarys(doc: Any, indent: int) -> None:
    assert jsondump.dumps(doc, indent) == json.dumps(doc, indent=indent, sort_keys=True)


@pytest.mark.parametrize("doc", [{"f": 1.5}, {"t": (1, 2)}, {1: "int key"}, [float("nan")]])
def test_json_of_other_values_is_json_dumps(doc: Any) -> None:
    assert jsondump.dumps(doc, 2) == json.dumps(doc, indent=2, sort_keys=True)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_document_is_pyyamls(example: Any) -> None:
    for host in load_inventory(example).hosts:
        tree = render.rootfs(host)
        user_data = cloudinit.user_data(host, tree)
        network = cloudinit.network_config(host)
        for doc in (user_data, network):
            assert cloudinit.dump(doc) == reference_yaml(
                doc,
                yamldump.LiteralDumper,
                default_flow_style=False,
                allow_unicode=True,
                width=1 << 16,
            )
        plan = netplan.network_config(host)
        assert yamldump.dump(plan, default_flow_style=False) == reference_yaml(
            plan, yaml.CSafeDumper, default_flow_style=False
        )


FILE_SETS: list[dict[str, bytes]] = [
    {"meta-data": b"m" * 60, "network-config": b"n" * 2047, "user-data": b"u" * 2049},
    {"meta-data": b"", "user-data": b"#cloud-config\n" * 9000},
    {"cloudbr-ovs-firstboot": b"#!/bin/sh\n" * 5000, "meta-data": b"m", "user-data": b"u" * 2048},
    {"meta-data": b"m" * 60, "network-config": b"n" * 2047, "user-data": b"u" * 2049},
    {"a": b"x" * 4096},
]


def test_a_reused_image_masters_a_new_images_bytes() -> None:
    reused = [iso.build_iso(files, label="cidata") for files in FILE_SETS]
    fresh = []
    for files in FILE_SETS:
        iso._empty_images.clear()  # a new pycdlib image for each
        fresh.append(iso.build_iso(files, label="cidata"))
    assert reused == fresh
    assert len(set(reused)) == len(FILE_SETS) - 1  # the repeated set, the same bytes
    assert iso.build_iso(FILE_SETS[0], label="OTHER") != reused[0]


def test_a_failed_build_leaves_no_half_filled_image() -> None:
    good = iso.build_iso(FILE_SETS[0], label="cidata")
    with pytest.raises(TypeError):
        iso.build_iso({"user-data": "not bytes"}, label="cidata")  # type: ignore[dict-item]
    assert iso.build_iso(FILE_SETS[0], label="cidata") == good


PROGRAM = "".join(f"line {i}: echo 'x' \"$y\" # {i}\n" for i in range(400))
UNICODE = PROGRAM.replace("echo", "écho")  # a block libyaml writes, not a simple one
LARGE = [
    PROGRAM,
    PROGRAM.rstrip("\n"),  # strip chomping
    PROGRAM + "\n\n",  # keep chomping
    "  " + PROGRAM,  # an indentation indicator
    "\n" + PROGRAM,
    PROGRAM.replace("\n", "  \n"),  # trailing spaces: no block style
    PROGRAM.replace("echo", "\x85"),  # a break libyaml does not write as a literal line
    PROGRAM + "é\u2028\n",
    PROGRAM.replace("echo", "\t"),  # a tab: libyaml quotes it
    UNICODE,
]


@pytest.mark.parametrize("value", LARGE, ids=range(len(LARGE)))
def test_recurring_large_values_are_spliced_as_emitted(value: str) -> None:
    def docs(n: int) -> list[Any]:
        return [
            {"write_files": [{"path": f"/p{n}", "content": value, "owner": "root:root"}]},
            {"a": {"b": [{"c": value}, value]}, "d": value},
            {"late-commands": [value], "k": 1},
            {"late-commands": [value], True: 1},  # a bool key: libyaml's events, spliced
        ]

    options = {"default_flow_style": False, "allow_unicode": True, "width": 1 << 16}
    for n in range(3):  # the first time, the second (a block made), the third (reused)
        for doc in docs(n):
            for dumper in (yamldump.LiteralDumper, yamldump.Dumper):
                expected = reference_yaml(doc, dumper, **options)
                assert yamldump.dump(doc, dumper, **options) == expected


def test_a_document_holding_the_placeholder_text_is_dumped_right() -> None:
    options = {"default_flow_style": False, "allow_unicode": True, "width": 1 << 16}
    for _ in range(2):
        yamldump.dump({"x": PROGRAM}, yamldump.LiteralDumper, **options)
    marker = yamldump._SPLICER.token + "1z"
    doc = {"x": PROGRAM, "y": marker, "z": [marker + PROGRAM]}
    expected = reference_yaml(doc, yamldump.LiteralDumper, **options)
    assert yamldump.dump(doc, yamldump.LiteralDumper, **options) == expected


def test_only_a_clipped_literal_block_is_spliced() -> None:
    options = {"default_flow_style": False, "allow_unicode": True, "width": 1 << 16}
    for value in LARGE:
        for _ in range(2):  # a bool key: yamltext leaves the document to libyaml's events
            yamldump.dump({"only": value, True: 1}, yamldump.LiteralDumper, **options)
    splicer = yamldump._SPLICER
    settings = (yamldump.LiteralDumper, tuple(sorted(options.items())))
    assert splicer.indents[(settings, ("only",))] == 2  # PROGRAM: written here, not by libyaml
    made = {place[2]: block for place, block in splicer.blocks.items() if place[1] == ("only",)}
    # Met twice, PROGRAM's block is kept: the very text libyaml writes for it there.
    libyaml = reference_yaml({"only": PROGRAM}, yamldump.LiteralDumper, **options)
    assert "only: " + made.pop(PROGRAM) + "\n" == libyaml
    # Of the others, only the one libyaml writes as a clipped literal block is spliced.
    assert [v for v, block in made.items() if block is not None] == [UNICODE]


def test_a_kept_line_break_before_a_spliced_block_leaves_it_to_libyaml() -> None:
    # libyaml ends a document with `...` after a `|+` block, unless a later block closed it.
    for doc in ({"": ["a\n\n"], "0": "a line\n" * 50}, {"a": "\n", "b": "a line\n" * 50}):
        expected = reference_yaml(doc, yamldump.LiteralDumper)
        assert yamldump.dump(doc, yamldump.LiteralDumper) == expected


def test_by_identity_remembers_one_object_not_an_equal_one() -> None:
    calls: list[bytes] = []

    def fn(content: bytes) -> int:
        calls.append(content)
        return len(calls)

    memo = ByIdentity(fn, min_size=4, keep=2)
    program = b"x" * 10
    assert [memo(program), memo(program)] == [1, 1]  # the object itself: one call
    assert memo(bytes(bytearray(program))) == 2  # an equal object: its own call
    assert memo(b"abc") == 3  # too small to keep
    assert memo(b"abc") == 4
    memo(b"y" * 10)  # the table is full: emptied
    assert memo(program) == 6
