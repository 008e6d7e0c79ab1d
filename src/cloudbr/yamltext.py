"""Block YAML written straight as text, for the documents we build (issue 13): libyaml costs
about a microsecond an event, and making the events cost more than emitting them.

`dump` writes what libyaml writes for a dict or list of str, int, bool and None in block
style (keys at the mapping's indentation, a sequence under a key at the key's, nested
mappings two deeper, empty collections as `{}` and `[]`), and gives up (None) on anything
whose bytes it cannot be sure of, which then goes to libyaml whole (`yamldump`):
- a string libyaml writes plain or single-quoted is recognised by its characters (a
  conservative set: no indicator, no quote, no space at either end, no `: `), plain when
  the resolver reads it back as a string, single-quoted when it would read another type;
- any other string is asked of libyaml alone (`Context.alone`, as the item of a one-item
  list) where the document's lines are never folded (a width of 64 Ki), and taken when libyaml
  writes it on one line: that text is the same wherever it stands in a block (value or key).
  Where lines may fold (width 80), a string with a space or outside the set gives up;
- a multi-line string is a literal block (`|`) when the dumper asks for one and libyaml writes
  it line for line (`simple_literal`), else it is a string as above;
- a key must be a simple key: a non-empty one-line string under 128 characters, or an int.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_BOUNDARY = r"[A-Za-z0-9_/]"  # a first character that is no indicator
_INNER = r"[A-Za-z0-9_./+=~@,-]"  # never an indicator after the first character
# One-line strings libyaml writes plain (or single-quoted when they read as another type):
# with `:` inside but not last (": " is refused apart), with spaces inside where lines never
# fold.
_TIGHT = re.compile(rf"{_BOUNDARY}(?:(?:{_INNER}|:)*{_INNER})?")
_SPACED = re.compile(rf"{_BOUNDARY}(?:(?:{_INNER}|:| )*{_INNER})?")
KEEP_CHARS = 200  # shorter strings' texts are kept (keys and values that recur)
KEEP_ENTRIES = 50_000
KEEP_BLOCK_CHARS = 4096  # longer literal blocks are kept: the programs every host carries
BLOCKS_KEPT = 64
ALONE_MAX = 4096  # longer one-line strings are not asked of libyaml alone
SIMPLE_KEY_MAX = 127  # libyaml's simple keys are shorter than 128 characters
LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")  # what libyaml takes for one


class GiveUp(Exception):
    """The document holds something only libyaml writes as libyaml does."""


@dataclass
class Context:
    """One way of writing: the resolver's tag of a plain string, whether multi-line strings
    are literal blocks, whether lines may fold, and libyaml's text of a string alone."""

    plain_tag: Callable[[str], str]
    literal: bool
    wide: bool
    alone: Callable[[str], str]  # libyaml's one-line text of a string, or raises GiveUp
    texts: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    blocks: dict[tuple[str, int], str | None] = field(default_factory=dict)


STR = "tag:yaml.org,2002:str"
# What libyaml writes as a literal block line for line, with clip chomping and no indentation
# indicator: printable ASCII, no line ending in a space, a first line neither empty nor
# indented, one final line break (libyaml's analysis: no special characters, no space before
# a break, no leading space or break, one trailing break).
# (Deleting them from the ASCII bytes: ten times a regular expression's speed on the
# late-command of an autoinstall, 60 KB of base64.)
_PRINTABLE_OR_LF = bytes(range(0x20, 0x7F)) + b"\n"


def simple_literal(value: str) -> bool:
    return (
        value[0] not in " \n"
        and value[-1] == "\n"
        and value[-2:] != "\n\n"
        and " \n" not in value
        and value.isascii()
        and not value.encode("ascii").translate(None, _PRINTABLE_OR_LF)
    )


def literal_block(value: str, indent: int) -> str:
    """The `|` block of a `simple_literal` string at `indent`, without its last line break."""
    pad = " " * indent
    text = value[:-1]
    if "\n\n" not in text:  # no empty line (libyaml does not indent one)
        return "|\n" + pad + text.replace("\n", "\n" + pad)
    return "|\n" + "\n".join(pad + line if line else "" for line in text.split("\n"))


def scalar(ctx: Context, value: str) -> str:
    """The one-line text of a string (not a literal block)."""
    text = ctx.texts.get(value)
    if text is not None:
        return text
    pattern = _SPACED if ctx.wide else _TIGHT
    if pattern.fullmatch(value) and ": " not in value:
        text = value if ctx.plain_tag(value) == STR else f"'{value}'"
    elif ctx.wide and len(value) <= ALONE_MAX:  # (a key with a line break never comes here)
        text = ctx.alone(value)
    else:
        raise GiveUp
    if len(value) <= KEEP_CHARS:
        if len(ctx.texts) >= KEEP_ENTRIES:
            ctx.texts.clear()
        ctx.texts[value] = text
    return text


def _literal(ctx: Context, value: str, indent: int) -> str | None:
    """The literal block of a multi-line string, or None where libyaml would not write it
    line for line; kept for a string met again (a program every host carries)."""
    place = (value, indent)
    if place in ctx.blocks:
        return ctx.blocks[place]
    text = literal_block(value, indent) if simple_literal(value) else None
    if len(value) >= KEEP_BLOCK_CHARS:
        if len(ctx.blocks) >= BLOCKS_KEPT:
            ctx.blocks.clear()
        ctx.blocks[place] = text
    return text


def _leaf(ctx: Context, value: Any, indent: int) -> str | None:
    """The text of a value that fits after `key: ` or `- `; None for a non-empty collection."""
    kind = type(value)
    if kind is str:
        if ctx.literal and "\n" in value:
            block = _literal(ctx, value, indent + 2)
            if block is not None:
                return block
        return scalar(ctx, value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is dict or kind is list:
        return None if value else ("{}" if kind is dict else "[]")
    raise GiveUp


def _key(ctx: Context, key: Any) -> str:
    text = ctx.keys.get(key) if type(key) is str else None
    if text is not None:
        return text
    if type(key) is int:
        return str(key)
    if type(key) is not str or not key or len(key) > SIMPLE_KEY_MAX or LINE_BREAK.search(key):
        raise GiveUp
    text = scalar(ctx, key)
    if len(ctx.keys) >= KEEP_ENTRIES:
        ctx.keys.clear()
    ctx.keys[key] = text
    return text


def _mapping(
    ctx: Context, doc: dict[Any, Any], indent: int, out: list[str], seen: set[int]
) -> None:
    """Keys at `indent`; the first one right where the output stands (after `- `, or at the
    start of a line it was indented to)."""
    pad = " " * indent
    keys, texts = ctx.keys, ctx.texts  # a key or string met before: one lookup
    lead = ""
    for key, value in doc.items():
        name = keys.get(key) if type(key) is str else None
        if name is None:
            name = _key(ctx, key)
        text = texts.get(value) if type(value) is str else None
        if text is None:
            text = _leaf(ctx, value, indent)
        if text is not None:
            out.append(f"{lead}{name}: {text}\n")
        elif type(value) is dict:
            out.append(f"{lead}{name}:\n{pad}  ")
            _collection(ctx, value, indent + 2, out, seen)
        else:  # a sequence under a key stands at the key's indentation
            out.append(f"{lead}{name}:\n{pad}")
            _collection(ctx, value, indent, out, seen)
        lead = pad


def _sequence(ctx: Context, doc: list[Any], indent: int, out: list[str], seen: set[int]) -> None:
    pad = " " * indent
    first = True
    for item in doc:
        out.append("- " if first else pad + "- ")
        first = False
        text = _leaf(ctx, item, indent)
        if text is not None:
            out.append(text + "\n")
        else:
            _collection(ctx, item, indent + 2, out, seen)


def _collection(ctx: Context, doc: Any, indent: int, out: list[str], seen: set[int]) -> None:
    if id(doc) in seen:  # met twice: libyaml anchors it
        raise GiveUp
    seen.add(id(doc))
    if type(doc) is dict:
        _mapping(ctx, doc, indent, out, seen)
    else:
        _sequence(ctx, doc, indent, out, seen)


def dump(ctx: Context, doc: Any) -> str | None:
    """libyaml's block text of `doc`, or None: let libyaml write it."""
    if type(doc) not in (dict, list) or not doc:
        return None
    out: list[str] = []
    try:
        _collection(ctx, doc, 0, out, set())
    except GiveUp:
        return None
    return "".join(out)
