"""`json.dumps(doc, indent=N, sort_keys=True)` for the JSON documents of every host (manifest,
verify plan), cheaper: with an indent the standard library takes its pure-Python encoder, a
generator per level (issue 13). Here the plain types of those documents (dict with str keys,
list, str, int, bool, None) are joined directly, strings quoted by the same C function the
standard encoder uses; anything else takes `json.dumps` whole, so the text is always what
`json.dumps` gives.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any


class _Unplain(Exception):
    """A value only `json.dumps` encodes (float, tuple, a non-str key, ...)."""


def _scalar(value: Any) -> str | None:
    """The JSON of a str, int, bool or None; None for anything else."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return None


def _flat_members(value: dict[Any, Any], inner: str) -> str | None:
    """A mapping of str keys to scalars (a manifest entry, an interface), joined at once."""
    members = []
    for key in sorted(value):
        text = _scalar(value[key]) if type(key) is str else None
        if text is None:
            return None
        members.append(f"{encode_basestring_ascii(key)}: {text}")
    return ("," + inner).join(members)


def _encode(value: Any, out: list[str], indent: str, level: int) -> None:
    kind = type(value)
    if kind is dict and value:
        inner = "\n" + indent * (level + 1)
        flat = _flat_members(value, inner)
        if flat is not None:
            out.append("{" + inner + flat + "\n" + indent * level + "}")
            return
        sep = "{" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise _Unplain
            out.append(sep + encode_basestring_ascii(key) + ": ")
            _encode(value[key], out, indent, level + 1)
            sep = "," + inner
        out.append("\n" + indent * level + "}")
    elif kind is list and value:
        inner = "\n" + indent * (level + 1)
        if all(type(item) is str for item in value):  # names, addresses: one join
            items = ("," + inner).join(map(encode_basestring_ascii, value))
            out.append("[" + inner + items + "\n" + indent * level + "]")
            return
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _encode(item, out, indent, level + 1)
            sep = "," + inner
        out.append("\n" + indent * level + "]")
    elif kind is dict or kind is list:
        out.append("{}" if kind is dict else "[]")
    else:
        text = _scalar(value)
        if text is None:
            raise _Unplain
        out.append(text)


def dumps(doc: Any, indent: int) -> str:
    """`json.dumps(doc, indent=indent, sort_keys=True)`."""
    out: list[str] = []
    try:
        _encode(doc, out, " " * indent, 0)
    except _Unplain:
        return json.dumps(doc, indent=indent, sort_keys=True)
    return "".join(out)
