"""YAML written straight as text (`yamltext`) is libyaml's own, byte for byte: random documents
of the characters where libyaml's choice of style turns (indicators, quotes, `: `, spaces,
line breaks, strings that read as other types), every document of the example inventories
(which it must write itself, not hand back), and what it hands back to libyaml."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbr import render, yamldump, yamltext
from cloudbr.carriers import autoinstall, cloudinit
from cloudbr.inventory import load_inventory
from cloudbr.platform_types import InstallerCarrier
from cloudbr.platforms import platform
from cloudbr.render import netplan
from tests.conftest import EXAMPLES

WIDE = {"default_flow_style": False, "allow_unicode": True, "width": 1 << 16}
OPTIONS: list[dict[str, Any]] = [{}, {"default_flow_style": False}, WIDE]
DUMPERS = [yamldump.Dumper, yamldump.LiteralDumper]

turning = st.sampled_from(list("ab0 _-.:/=,#'\"!&*%@`|>?[]{}~+\t\n\\$é\u2028"))
strings = st.one_of(
    st.text(turning, max_size=16),
    st.sampled_from(["true", "1.5", "0o7", "null", "~", "- a", "a: b", "x\ny\n", "x\n\ny\n"]),
)
scalars = st.one_of(strings, st.integers(-5, 100), st.booleans(), st.none())
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.one_of(strings, st.integers(0, 9)), inner, max_size=3)
    ),
    max_leaves=25,
)


def libyaml(doc: Any, dumper: type[yaml.CSafeDumper], options: dict[str, Any]) -> str:
    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=False, **options)
    return text


def text_of(doc: Any, dumper: type[yamldump.Dumper], options: dict[str, Any]) -> str | None:
    ctx = yamldump._text_context(dumper, options)
    assert ctx is not None
    return yamltext.dump(ctx, doc)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from(OPTIONS), st.sampled_from(DUMPERS))
def test_what_it_writes_is_libyamls(
    doc: Any, options: dict[str, Any], dumper: type[yamldump.Dumper]
) -> None:
    text = text_of(doc, dumper, options)
    if text is not None:
        assert text == libyaml(doc, dumper, options)
    assert yamldump.dump(doc, dumper, **options) == libyaml(doc, dumper, options)


def _documents(example: Any) -> list[tuple[Any, type[yamldump.Dumper], dict[str, Any]]]:
    docs: list[tuple[Any, type[yamldump.Dumper], dict[str, Any]]] = []
    for host in load_inventory(example).hosts:
        tree = render.rootfs(host)
        literal = yamldump.LiteralDumper
        docs += [(cloudinit.user_data(host, tree), literal, WIDE)]
        docs += [(cloudinit.network_config(host), literal, WIDE)]
        docs += [({"network": netplan.network_config(host)}, yamldump.Dumper, OPTIONS[1])]
        if platform(host).installer.carrier is InstallerCarrier.AUTOINSTALL:
            docs += [({"autoinstall": autoinstall.autoinstall(host, tree)}, literal, WIDE)]
    return docs


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_it_writes_every_example_document_itself(example: Any) -> None:
    docs = _documents(example)
    assert len(docs) >= 3
    for doc, dumper, options in docs:
        assert text_of(doc, dumper, options) == libyaml(doc, dumper, options)


HASH = "$6$rounds=5000$salt$abc/def."  # outside the plain set: asked of libyaml alone
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE root@host # a comment"


@pytest.mark.parametrize("value", [HASH, SSH_KEY, "'quoted'", "tab\there", "é", "a\tb\nc\n"])
def test_a_string_outside_the_plain_set_is_libyamls_alone(value: str) -> None:
    for doc in ({"k": value}, [value], {"a": [{"b": value}]}):
        literal = yamldump.LiteralDumper
        assert text_of(doc, literal, WIDE) == libyaml(doc, literal, WIDE)
    # Where lines fold (width 80), its text could depend on its column: left to libyaml.
    assert text_of({"k": value}, yamldump.Dumper, {}) is None


@pytest.mark.parametrize(
    "doc",
    [
        {True: "a bool key"},
        {"k": "v", 1.5: "a float key"},
        {"a\nb": "a multi-line key"},
        {"k" * 128: "a key too long to be simple"},
        {"": "an empty key"},
        {"x": {"shared": 1}, "y": None},
        "a scalar document",
        {"k": 1.5},
    ],
    ids=range(8),
)
def test_what_it_hands_back_to_libyaml(doc: Any) -> None:
    if isinstance(doc, dict) and "x" in doc:
        doc["y"] = doc["x"]  # one object twice: libyaml anchors it
    assert text_of(doc, yamldump.Dumper, WIDE) is None
    assert yamldump.dump(doc, **WIDE) == libyaml(doc, yamldump.Dumper, WIDE)


def test_a_spaced_string_folds_only_where_the_width_allows() -> None:
    doc = {"k": "word " * 30 + "end"}
    assert text_of(doc, yamldump.Dumper, WIDE) == libyaml(doc, yamldump.Dumper, WIDE)
    assert text_of(doc, yamldump.Dumper, {}) is None  # libyaml folds it at 80 columns
    assert "\n" in libyaml(doc, yamldump.Dumper, {}).rstrip("\n")
