"""The fast reader: libyaml's events straight to plain data, without nodes or positions.

It reads only documents in which the positional reader (`source`) would find nothing to report;
at the first sign of anything else (an anchor, alias or tag, an ambiguous or control-character
value, a duplicate, merge or non-scalar key, deep nesting, a YAML error, a second document, an
empty one) it gives up and `source` reads the text itself, with positions. Positions are only
needed for messages, so a valid document never pays for them: `source.Source` builds them from
the text when a message asks for one."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from cloudbr.inventory.compose import _NON_PRINTABLE, MAX_DEPTH, CParser
from cloudbr.inventory.scalars import CONTROL, ambiguous, plain


class _GiveUp(Exception):
    """The positional reader must read this document."""


_NO_KEY: Any = object()  # a mapping frame waiting for its next key


def _text(value: str) -> str:
    if not value.isprintable() and CONTROL.search(value):  # isprintable: the cheap pre-test
        raise _GiveUp
    return value


def _plain(value: str) -> Any:
    if ambiguous(value):
        raise _GiveUp
    resolved = plain(value)
    return _text(resolved) if isinstance(resolved, str) else resolved


def _key(event: ScalarEvent) -> str | int:
    """A mapping key as the positional reader makes it."""
    if event.anchor is not None or event.tag is not None or event.value == "<<":
        raise _GiveUp  # ("<<" quoted is an ordinary key, but rare enough to leave to `source`)
    value = _plain(event.value) if event.implicit[0] else _text(event.value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return _text(str(value))
    return value


def _events(parser: Any) -> Any:
    """The document's root value (the parser stands after the document's end)."""
    get = parser.get_event
    if type(get()) is not StreamStartEvent or type(get()) is not DocumentStartEvent:
        raise _GiveUp  # an empty stream
    # Frames of the open collections: [mapping, pending key or _NO_KEY] or [list, None].
    stack: list[list[Any]] = []
    while True:
        event = get()
        kind = type(event)
        if kind is ScalarEvent:
            frame = stack[-1] if stack else None
            if frame is not None and frame[1] is _NO_KEY:
                key = _key(event)
                if key in frame[0]:
                    raise _GiveUp  # a duplicate key
                frame[1] = key
                continue
            if event.anchor is not None or event.tag is not None:
                raise _GiveUp
            value = _plain(event.value) if event.implicit[0] else _text(event.value)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None or len(stack) >= MAX_DEPTH - 2:
                raise _GiveUp
            if stack and stack[-1][1] is _NO_KEY:
                raise _GiveUp  # a list or mapping as a key
            stack.append([{}, _NO_KEY] if kind is MappingStartEvent else [[], None])
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = stack.pop()[0]
        else:
            raise _GiveUp  # an alias
        if not stack:
            return value
        frame = stack[-1]
        if isinstance(frame[0], list):
            frame[0].append(value)
        else:
            frame[0][frame[1]] = value
            frame[1] = _NO_KEY


def load_plain(text: str) -> tuple[Any] | None:
    """(data,) read by libyaml when `text` holds nothing to report, else None."""
    if CParser is None or _NON_PRINTABLE.search(text):
        return None
    parser = CParser(text)
    try:
        data = _events(parser)
        if type(parser.get_event()) is not DocumentEndEvent:
            return None
        if type(parser.get_event()) is not StreamEndEvent:
            return None  # a second document: `source` reports it
        return (data,)
    except (yaml.YAMLError, _GiveUp):
        return None
    finally:
        parser.dispose()
