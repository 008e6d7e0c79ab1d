"""YAML output for every rendered document: PyYAML's safe dumper on libyaml's emitter, fed
more cheaply (issue 13: PyYAML's representer, serializer and resolver cost more per host
than anything else in a render, the emitter itself far less).

`dump` first has `yamltext` write the document straight as text (libyaml's bytes, with no
emitter at all); what that hands back, it walks: the plain data we build documents from
(dict, list, str, int, bool, None) becomes the very events that
`yaml.dump(..., Dumper=yaml.CSafeDumper)` would give libyaml, without the node graph in
between: same tags, same implicit flags (from the resolver's own table), same styles, so the
same bytes. A document with anything else (another type, a dict or list met twice, which the
generic path would anchor) takes the generic path whole.
"""

from __future__ import annotations

import functools
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

from cloudbr import yamltext

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


class _NoSplice(Exception):
    """The document must be emitted by libyaml whole."""


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
        self.open_ended = 0

    def __missing__(self, value: str) -> Event:
        style = "|" if self.literal and "\n" in value else None
        event = _scalar(self.plain_tag, STR, value, style)
        if value and value[-1] in _BREAKS and (len(value) == 1 or value[-2] in _BREAKS):
            # Kept line breaks: libyaml may write a `|+` block, which leaves the document
            # open-ended until another block scalar; counted (never kept) so that `_events`
            # knows to splice nothing.
            self.open_ended += 1
            return event
        if len(value) <= self.KEEP_CHARS:
            if len(self) >= self.KEEP_ENTRIES:
                self.clear()
            self[value] = event
        return event


_BREAKS = "\r\n\x85\u2028\u2029"  # libyaml's line breaks
_STRINGS: dict[type[Dumper], _StrEvents] = {}


def _str_events(cls: type[Dumper]) -> _StrEvents:
    found = _STRINGS.get(cls)
    if found is None:
        found = _STRINGS[cls] = _StrEvents(cls)
    return found


class _Splicer:
    """Large multi-line values are not given to libyaml (it costs tens of nanoseconds a
    character): the document gets a placeholder scalar instead, replaced in the output by
    the block libyaml writes for the value at that place (same keys and nesting, so the same
    indentation). Only a literal block with clip chomping and no indentation indicator (`|`
    then a line break) is spliced: it ends with its line break, where a placeholder is
    followed by one, and touches no emitter state that outlives it. A simple value
    (`yamltext.simple_literal`) is written here, at the indentation libyaml gave a one-line
    block at that place; another is emitted by libyaml once, when met again at the same
    place. A long value met again at the same place (a program every host carries) is made
    once and kept. (Documents `yamltext` writes whole never come here.)"""

    MIN_CHARS = 2048
    KEEP = 64  # values seen once, blocks made

    def __init__(self) -> None:
        self.seen: set[tuple[Any, ...]] = set()
        self.blocks: dict[tuple[Any, ...], str | None] = {}
        self.indents: dict[tuple[Any, ...], int | None] = {}
        self.token = f"cloudbrsplice{os.getpid()}x{id(self)}x"

    def block(self, settings: _Settings, path: tuple[Any, ...], value: str) -> str | None:
        """The text libyaml writes for `value` at `path`, or None: emit it there."""
        if len(value) < self.MIN_CHARS:
            if not yamltext.simple_literal(value):
                return None
            return self._simple_block(settings, path, value)
        place = (settings, path, value)
        if place in self.blocks:  # met here before (a program every host carries): made once
            return self.blocks[place]
        text = self._simple_block(settings, path, value) if yamltext.simple_literal(value) else None
        if place not in self.seen:  # once: a value unique to one document is not kept
            if len(self.seen) >= self.KEEP:
                self.seen.clear()
            self.seen.add(place)
            return text
        if text is None:
            text = self._make(settings, path, value)
        if len(self.blocks) >= self.KEEP:
            self.blocks.clear()
        self.blocks[place] = text
        return text

    def _simple_block(self, settings: _Settings, path: tuple[Any, ...], value: str) -> str | None:
        at = (settings, path)
        if at not in self.indents:
            if len(self.indents) >= self.KEEP:  # bounded like the others
                self.indents.clear()
            self.indents[at] = self._indent(settings, path)
        indent = self.indents[at]
        return None if indent is None else yamltext.literal_block(value, indent)

    def _indent(self, settings: _Settings, path: tuple[Any, ...]) -> int | None:
        block = self._make(settings, path, "x\n")
        if block is None:
            return None
        indent = len(block) - 3
        return indent if block == "|\n" + " " * indent + "x" else None

    def _make(self, settings: _Settings, path: tuple[Any, ...], value: str) -> str | None:
        cls, options = settings[0], dict(settings[1])
        marker = self.token + "0z"
        with_marker = _emit(_events(_nest(path, marker), cls, options), cls, options)
        with_value = _emit(_events(_nest(path, value), cls, options), cls, options)
        head, _, tail = with_marker.partition(marker)
        if tail != "\n" or not with_value.startswith(head + "|\n") or with_value[-1] != "\n":
            return None
        return with_value[len(head) : -1]


_Settings = tuple[type[Dumper], tuple[tuple[str, Any], ...]]
_ITEM = object()  # a path step into a sequence (a mapping step is its key)
SIMPLE_FROM = 256  # shorter values: libyaml costs no more than a splice


def _nest(path: tuple[Any, ...], value: Any) -> Any:
    for step in reversed(path):
        value = [value] if step is _ITEM else {step: value}
    return value


_SPLICER = _Splicer()


class _Walk:
    """The events of one document (methods, not closures that call each other: a cycle
    refcounting would never free, the events list in it, once per document)."""

    def __init__(self, cls: type[Dumper], options: dict[str, Any], splices: list[str] | None):
        self.out: list[Event] = []
        self.add = self.out.append
        self.seen: set[int] = set()
        self.strings = _str_events(cls)
        self.flow_style = options.get("default_flow_style", False)
        self.path: list[Any] = []
        self.settings = (cls, tuple(sorted(options.items())))
        self.spliced = splices if cls.literal_multiline else None

    def leaf(self, step: Any, value: Any) -> None:
        if type(value) is not str:
            self.path.append(step)
            self.walk(value)
            self.path.pop()
        elif self.spliced is None or len(value) < SIMPLE_FROM:
            self.add(self.strings[value])
        else:
            path = (*self.path, step)
            self.add(_splice_event(self.strings, self.settings, path, value, self.spliced))

    def walk(self, data: Any) -> None:
        kind = type(data)
        add = self.add
        if kind is dict or kind is list:
            if id(data) in self.seen:
                raise _Unplain
            self.seen.add(id(data))
            if kind is dict:
                add(MappingStartEvent(None, MAP, True, flow_style=self.flow_style))
                for key, value in data.items():
                    add(self.strings[key]) if type(key) is str else self.walk(key)
                    self.leaf(key, value)
                add(MappingEndEvent())
            else:
                add(SequenceStartEvent(None, SEQ, True, flow_style=self.flow_style))
                for item in data:
                    self.leaf(_ITEM, item)
                add(SequenceEndEvent())
        else:
            strings = self.strings
            add(strings[data] if kind is str else _plain_scalar(strings.plain_tag, data))


def _events(
    doc: Any, cls: type[Dumper], options: dict[str, Any], splices: list[str] | None = None
) -> list[Event]:
    """The document's events; with `splices`, large values become placeholders, each
    listed with the text that replaces it (in document order)."""
    walker = _Walk(cls, options, splices)
    open_ended = walker.strings.open_ended
    walker.walk(doc)
    if splices and walker.strings.open_ended != open_ended:
        raise _NoSplice  # a spliced block would not have closed it, as libyaml's does
    return walker.out


def _splice_event(
    strings: _StrEvents, settings: _Settings, path: tuple[Any, ...], value: str, splices: list[str]
) -> Event:
    """The placeholder of a value spliced in after, or the value's own event."""
    block = _SPLICER.block(settings, path, value)
    if block is None:
        return strings[value]
    splices.append(block)
    return strings[f"{_SPLICER.token}{len(splices)}z"]  # z: no placeholder starts another


def _plain_scalar(plain_tag: Callable[[str], str], data: Any) -> Event:
    kind = type(data)
    if kind is bool:
        return _scalar(plain_tag, BOOL, "true" if data else "false", None)
    if kind is int:
        return _scalar(plain_tag, INT, str(data), None)
    if data is None:
        return _scalar(plain_tag, NULL, "null", None)
    raise _Unplain


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


def _splice(text: str, blocks: list[str]) -> str:
    """Each marker, in document order, replaced by its block; a document whose own text
    holds the marker's is left to the generic path."""
    parts = text.split(_SPLICER.token)
    if len(parts) != len(blocks) + 1:
        raise _NoSplice
    out = [parts[0]]
    for n, (part, block) in enumerate(zip(parts[1:], blocks, strict=True), 1):
        tag = f"{n}z"
        if not part.startswith(tag):
            raise _NoSplice
        out += (block, part[len(tag) :])
    return "".join(out)


def _alone(cls: type[Dumper], options: dict[str, Any], value: str) -> str:
    """libyaml's text of a one-line string, as the item of a one-item list."""
    text = _emit(_events([value], cls, options), cls, options)
    if not text.startswith("- ") or yamltext.LINE_BREAK.search(text, 2, len(text) - 1):
        raise yamltext.GiveUp
    return text[2:-1]


_TEXT_CONTEXTS: dict[tuple[type[Dumper], tuple[tuple[str, Any], ...]], yamltext.Context] = {}


def _text_context(cls: type[Dumper], options: dict[str, Any]) -> yamltext.Context | None:
    """How `yamltext` writes for this dumper and these options, or None: it cannot."""
    if cls not in (Dumper, LiteralDumper) or options.get("default_flow_style", False) is not False:
        return None
    key = (cls, tuple(sorted(options.items())))
    ctx = _TEXT_CONTEXTS.get(key)
    if ctx is None:
        ctx = _TEXT_CONTEXTS[key] = yamltext.Context(
            plain_tag=_str_events(cls).plain_tag,
            literal=cls.literal_multiline,
            wide=options.get("width", 0) >= 1 << 16,
            alone=functools.partial(_alone, cls, dict(options)),
        )
    return ctx


def dump(doc: Any, dumper: type[Dumper] = Dumper, **options: Any) -> str:
    """`yaml.dump(doc, Dumper=dumper, sort_keys=False, **options)`, cheaper."""
    splices: list[str] = []
    if EMITTER_OPTIONS.issuperset(options):
        ctx = _text_context(dumper, options)
        text = None if ctx is None else yamltext.dump(ctx, doc)
        if text is not None:
            return text
    try:
        if options.get("default_flow_style", False) is None:
            raise _Unplain
        if not EMITTER_OPTIONS.issuperset(options):
            raise _Unplain
        try:
            text = _emit(_events(doc, dumper, options, splices), dumper, options)
            if splices:
                text = _splice(text, splices)
        except _NoSplice:
            text = _emit(_events(doc, dumper, options), dumper, options)
    except _Unplain:
        text = yaml.dump(doc, Dumper=dumper, sort_keys=False, **options)
    return text
