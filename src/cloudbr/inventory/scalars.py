"""Plain scalars read with the YAML 1.2 core schema, and the values refused in any scalar (the
positional reader `source` and the fast reader `fastload` share these)."""

from __future__ import annotations

import re
from typing import Any

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_BOOLS["FALSE"] = False
_INT_RE = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
_MAX_DIGITS = 64  # longer numbers are read as floats or text (int() refuses 4,300 digits)
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_OTHER_BASES = re.compile(r"[-+]?0[ob][0-9a-fA-F_]+")
_YAML11_BOOLS = re.compile(r"yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF")
# The first characters of every value above (nulls, booleans, numbers, ambiguous forms): any
# other non-empty plain scalar is text, with no pattern to try (most names in an inventory).
_SPECIAL_START = frozenset("0123456789+-.~nNtTfFyYoO")


def ambiguous(value: str) -> str | None:
    """A hint for YAML 1.1 forms that other tools still read differently, or None."""
    if value[:1] not in _SPECIAL_START:
        return None
    if _LEADING_ZERO.fullmatch(value):
        digits = value.lstrip("+-").lstrip("0") or "0"
        return (
            f"{value!r} is ambiguous: YAML 1.1 reads a leading 0 as octal; write {digits} "
            f"for the number, or quote it ('{value}') for text"
        )
    if _OTHER_BASES.fullmatch(value):
        return f"{value!r} is ambiguous between YAML versions: write the decimal number"
    if _YAML11_BOOLS.fullmatch(value):
        return (
            f"{value!r} is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as text; "
            f"write true or false, or quote it ('{value}') for text"
        )
    return None


def plain(value: str) -> Any:
    """A plain scalar read with the YAML 1.2 core schema."""
    if value and value[0] not in _SPECIAL_START:
        return value
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if len(value) <= _MAX_DIGITS and _INT_RE.fullmatch(value):
        return int(value)
    if len(value) <= _MAX_DIGITS and _HEX_RE.fullmatch(value):
        return int(value, 16)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    if value.lower() in _SPECIAL_FLOATS:
        return float(_SPECIAL_FLOATS[value.lower()])
    return value
