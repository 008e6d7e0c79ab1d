"""YAML text -> nodes, for `source`: PyYAML's composer made strict (no alias expands, anchors
recorded, depth bounded), on libyaml's scanner and parser when PyYAML has it and the text is
accepted there, else on PyYAML's own (whose errors `source` reports)."""

from __future__ import annotations

from typing import Any, NamedTuple

import yaml


def _libyaml_parser() -> Any:
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml: the pure-Python loader alone
        return None
    return CParser


CParser: Any = _libyaml_parser()

MAX_DEPTH = 32
_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP = f"{_CORE}seq", f"{_CORE}map"
_PLAIN = "cloudbr:plain"  # an untagged plain scalar, resolved by `_plain`
_ALIAS = "cloudbr:alias"  # an alias, kept as a stub so that nothing is expanded
# What PyYAML's reader refuses (it raises ReaderError with the position).
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


class Mark(NamedTuple):
    """Where a key or value starts. A NamedTuple, not a frozen dataclass: one is made for
    every node of the document, and this is twice as fast to build."""

    line: int  # 1-based
    column: int  # 1-based


def _mark(node: yaml.Node | yaml.Event) -> Mark:
    start = node.start_mark
    return Mark(start.line + 1, start.column + 1) if start else Mark(1, 1)


class TooDeep(Exception):
    def __init__(self, mark: Mark) -> None:
        super().__init__(mark)
        self.mark = mark


class _Strict:
    """Composes nodes without expanding aliases, records anchors, and bounds the depth (mixed
    into a loader: the event methods come from its parser)."""

    depth: int
    anchored: dict[int, str]

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # Untagged nodes: plain scalars are resolved later with YAML 1.2 core rules.
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def compose_node(self, parent: Any, index: Any) -> Any:
        events: Any = self
        if events.check_event(yaml.AliasEvent):
            event = events.get_event()
            return yaml.ScalarNode(_ALIAS, event.anchor, event.start_mark, event.end_mark)
        event = events.peek_event()
        if self.depth >= MAX_DEPTH:
            raise TooDeep(_mark(event))
        anchor = event.anchor
        event.anchor = None  # the composer must not remember it: no alias can expand it
        self.depth += 1
        try:
            node = yaml.composer.Composer.compose_node(events, parent, index)
        finally:
            self.depth -= 1
        if anchor is not None:
            self.anchored[id(node)] = anchor
        return node


class StrictLoader(_Strict, yaml.SafeLoader):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.anchored = {}


class _FastStrictLoader(
    _Strict,
    CParser or object,  # type: ignore[misc]
    yaml.composer.Composer,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """The same composer on libyaml's scanner and parser (the pure-Python scanner is most of
    the time a large inventory takes). Only documents it accepts are read with it: on any
    error, `_compose` reads the text again with `_StrictLoader` for the exact message."""

    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        yaml.composer.Composer.__init__(self)
        self.depth = 0
        self.anchored = {}

    # libyaml's own composer would bypass _Strict.compose_node: use PyYAML's on its events.
    get_single_node = yaml.composer.Composer.get_single_node
    compose_document = yaml.composer.Composer.compose_document


def compose_fast(text: str) -> tuple[yaml.Node | None, dict[int, str]] | None:
    """libyaml's parse of `text`, or None when it has any complaint or no libyaml exists."""
    if CParser is None or _NON_PRINTABLE.search(text):
        return None
    loader = _FastStrictLoader(text)
    try:
        return loader.get_single_node(), loader.anchored
    except (yaml.YAMLError, TooDeep):
        return None
    finally:
        loader.dispose()
