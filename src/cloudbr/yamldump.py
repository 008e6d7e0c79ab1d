"""YAML output for every rendered document: PyYAML's safe dumper on libyaml's emitter, fed
more cheaply (issue 13: PyYAML's representer, serializer and resolver cost more per host
than anything else in a render, the emitter itself far less).

`dump` walks the plain data we build documents from (dict, list, str, int, bool, None) and
hands libyaml the very events `yaml.dump(..., Dumper=yaml.CSafeDumper)` would make of it,
without the node graph in between: same tags, same implicit flags (from the resolver's own
table), same styles, so the same bytes. A document with anything else (another type, a dict
or list met twice, which the generic path would anchor) takes the generic path whole.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from typing import Any, ClassVar

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"

# The options `dump` passes to libyaml itself; any other takes the generic path.
EMITTER_OPTIONS = frozenset({"default_flow_style", "allow_unicode", "width"})

_Resolvers = tuple[tuple[str, re.Pattern[str]], ...]


class Dumper(yaml.CSafeDumper):
    """`yaml.CSafeDumper`. `literal_multiline`: strings with a line break as literal
    blocks (`|`), so the files a document carries stay readable."""

    literal_multiline: ClassVar[bool] = False


def _literal_str(dumper: Dumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(STR, value, style=style)


class LiteralDumper(Dumper):
    literal_multiline = True


LiteralDumper.add_representer(str, _literal_str)


class _Unplain(Exception):
    """The document holds something only the generic path represents as PyYAML does."""


def _resolver(cls: type[Dumper]) -> Callable[[str], str]:
    """value -> the tag `BaseResolver.resolve(ScalarNode, value, (True, False))` gives it: the
    resolvers of its first character, then the wildcard ones, the first match wins."""
    implicit = cls.yaml_implicit_resolvers
    wildcard: _Resolvers = tuple(implicit.get(None, []))
    table: dict[str, _Resolvers] = {
        first: (*resolvers, *wildcard) for first, resolvers in implicit.items() if first
    }
    table[""] = (*implicit.get("", []), *wildcard)

    def plain_tag(value: str) -> str:
        for tag, regexp in table.get(value[:1], wildcard):
            if regexp.match(value):
                return tag
        return STR

    return plain_tag


def _scalar(plain_tag: Callable[[str], str], tag: str, value: str, style: str | None) -> Event:
    return ScalarEvent(None, tag, (plain_tag(value) == tag, tag == STR), value, style=style)


class _StrEvents(dict[str, Event]):
    """str -> its scalar event, kept for short strings (keys and values that recur in every
    host's documents); libyaml only reads an event, so one serves every document."""

    KEEP_CHARS = 200
    KEEP_ENTRIES = 50_000

    def __init__(self, cls: type[Dumper]) -> None:
        super().__init__()
        self.plain_tag, self.literal = _resolver(cls), cls.literal_multiline

    def __missing__(self, value: str) -> Event:
        style = "|" if self.literal and "\n" in value else None
        event = _scalar(self.plain_tag, STR, value, style)
        if len(value) <= self.KEEP_CHARS:
            if len(self) >= self.KEEP_ENTRIES:
                self.clear()
            self[value] = event
        return event


_STRINGS: dict[type[Dumper], _StrEvents] = {}


def _str_events(cls: type[Dumper]) -> _StrEvents:
    found = _STRINGS.get(cls)
    if found is None:
        found = _STRINGS[cls] = _StrEvents(cls)
    return found


class _Splicer:
    """Large multi-line values that recur across documents (a program every host carries)
    are emitted by libyaml once: later documents get a placeholder scalar, replaced in the
    output by the block libyaml wrote for the value at the same place (same keys and nesting,
    so the same indentation). Only a literal block with clip chomping and no indentation
    indicator (`|` then a line break) is spliced: it ends with its line break, where a
    placeholder is followed by one, and touches no emitter state that outlives it."""

    MIN_CHARS = 2048
    KEEP = 64  # places remembered (values seen once, blocks made)

    def __init__(self) -> None:
        self.seen: set[tuple[Any, ...]] = set()
        self.blocks: dict[tuple[Any, ...], str | None] = {}
        self.token = f"cloudbrsplice{os.getpid()}x{id(self)}x"

    def block(
        self, cls: type[Dumper], options: dict[str, Any], path: tuple[Any, ...], value: str
    ) -> str | None:
        place = (cls, tuple(sorted(options.items())), path, value)
        if place in self.blocks:
            return self.blocks[place]
        if place not in self.seen:  # once: a value unique to one document costs nothing more
            if len(self.seen) >= self.KEEP:
                self.seen.clear()
            self.seen.add(place)
            return None
        if len(self.blocks) >= self.KEEP:
            self.blocks.clear()
        self.blocks[place] = found = self._make(cls, options, path, value)
        return found

    def _make(
        self, cls: type[Dumper], options: dict[str, Any], path: tuple[Any, ...], value: str
    ) -> str | None:
        marker = self.token + "0z"
        with_marker = _emit(_events(_nest(path, marker), cls, options), cls, options)
        with_value = _emit(_events(_nest(path, value), cls, options), cls, options)
        head, _, tail = with_marker.partition(marker)
        if tail != "\n" or not with_value.startswith(head + "|\n") or not with_value.endswith("\n"):
            return None
        return with_value[len(head) : -1]


_ITEM = object()  # a path step into a sequence (a mapping step is its key)


def _nest(path: tuple[Any, ...], value: Any) -> Any:
    for step in reversed(path):
        value = [value] if step is _ITEM else {step: value}
    return value


_SPLICER = _Splicer()


def _events(
    doc: Any,
    cls: type[Dumper],
    options: dict[str, Any],
    splices: list[tuple[str, str]] | None = None,
) -> list[Event]:
    """The document's events; with `splices`, recurring large values become placeholders,
    each listed with the text that replaces it."""
    out: list[Event] = []
    add = out.append
    seen: set[int] = set()
    strings = _str_events(cls)
    plain_tag = strings.plain_tag
    flow_style = options.get("default_flow_style", False)
    path: list[Any] = []
    splice_from = _Splicer.MIN_CHARS if splices is not None and cls.literal_multiline else -1

    def value_of(key: Any, value: Any) -> None:
        if type(value) is str and 0 < splice_from <= len(value):
            block = _SPLICER.block(cls, options, (*path, key), value)
            if block is not None and splices is not None:
                marker = f"{_SPLICER.token}{len(splices) + 1}z"  # z: no marker starts another
                splices.append((marker, block))
                add(strings[marker])
                return
        path.append(key)
        walk(value)
        path.pop()

    def walk(data: Any) -> None:
        kind = type(data)
        if kind is str:
            add(strings[data])
        elif kind is dict or kind is list:
            if id(data) in seen:
                raise _Unplain
            seen.add(id(data))
            if kind is dict:
                add(MappingStartEvent(None, MAP, True, flow_style=flow_style))
                for key, value in data.items():
                    walk(key)
                    value_of(key, value)
                add(MappingEndEvent())
            else:
                add(SequenceStartEvent(None, SEQ, True, flow_style=flow_style))
                path.append(_ITEM)
                for item in data:
                    walk(item)
                path.pop()
                add(SequenceEndEvent())
        elif kind is bool:
            add(_scalar(plain_tag, BOOL, "true" if data else "false", None))
        elif kind is int:
            add(_scalar(plain_tag, INT, str(data), None))
        elif data is None:
            add(_scalar(plain_tag, NULL, "null", None))
        else:
            raise _Unplain

    walk(doc)
    return out


def _emit(events: list[Event], cls: type[Dumper], options: dict[str, Any]) -> str:
    stream = io.StringIO()
    emitter = cls(stream, sort_keys=False, **options)
    emitter.open()
    emit = emitter.emit
    emit(DocumentStartEvent(explicit=False))
    for event in events:
        emit(event)
    emit(DocumentEndEvent(explicit=False))
    emitter.close()
    return stream.getvalue()


def dump(doc: Any, dumper: type[Dumper] = Dumper, **options: Any) -> str:
    """`yaml.dump(doc, Dumper=dumper, sort_keys=False, **options)`, cheaper."""
    splices: list[tuple[str, str]] = []
    try:
        if options.get("default_flow_style", False) is None:
            raise _Unplain
        if not EMITTER_OPTIONS.issuperset(options):
            raise _Unplain
        text = _emit(_events(doc, dumper, options, splices), dumper, options)
        for marker, block in splices:
            if text.count(marker) != 1:  # the document itself holds the marker's text
                raise _Unplain
            text = text.replace(marker, block)
    except _Unplain:
        text = yaml.dump(doc, Dumper=dumper, sort_keys=False, **options)
    return text
