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


def _encode(value: Any, out: list[str], indent: str, level: int) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring_ascii(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = "\n" + indent * (level + 1)
        if all(type(k) is str and type(v) is str for k, v in value.items()):
            # A manifest entry: one join, no call per member.
            items = sorted(value.items())
            members = (
                f"{encode_basestring_ascii(k)}: {encode_basestring_ascii(v)}" for k, v in items
            )
            out.append("{" + inner + ("," + inner).join(members) + "\n" + indent * level + "}")
            return
        sep = "{" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise _Unplain
            out.append(sep)
            out.append(encode_basestring_ascii(key))
            out.append(": ")
            _encode(value[key], out, indent, level + 1)
            sep = "," + inner
        out.append("\n" + indent * level + "}")
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = "\n" + indent * (level + 1)
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _encode(item, out, indent, level + 1)
            sep = "," + inner
        out.append("\n" + indent * level + "]")
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int:
        out.append(int.__repr__(value))
    else:
        raise _Unplain


def dumps(doc: Any, indent: int) -> str:
    """`json.dumps(doc, indent=indent, sort_keys=True)`."""
    out: list[str] = []
    try:
        _encode(doc, out, " " * indent, 0)
    except _Unplain:
        return json.dumps(doc, indent=indent, sort_keys=True)
    return "".join(out)
