"""Read YAML strictly while remembering where every value came from.

Validation errors carry a location path such as ("hosts", 0, "bonds", 1, "mode"); this
module maps such a path back to the line and column an operator can jump to.

The loader accepts plain data only, so that no document can mean something else than it
says or exhaust the machine:
- no anchors, aliases or merge keys (an inventory repeats values through `site` instead),
  so nothing expands;
- no tags beyond the YAML core schema (str, int, float, bool, null, seq, map);
- nesting at most MAX_DEPTH levels;
- plain scalars are read with YAML 1.2 core rules (an unquoted MAC such as
  52:54:00:12:34:56 is text), and the YAML 1.1 forms whose meaning other tools still change
  (0100 as octal, yes/no/on/off as booleans) are refused with a hint on how to write them;
- no control characters (C0, DEL, C1, U+2028/U+2029) in any key or value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from cloudbr.inventory import fastload
from cloudbr.inventory.compose import (
    _ALIAS,
    _BOOL,
    _CORE,
    _FLOAT,
    _INT,
    _MAP,
    _NULL,
    _PLAIN,
    _SEQ,
    _STR,
    MAX_DEPTH,
    Mark,
    StrictLoader,
    TooDeep,
    _mark,
    compose_fast,
)
from cloudbr.inventory.scalars import CONTROL
from cloudbr.inventory.scalars import ambiguous as _ambiguous
from cloudbr.inventory.scalars import plain as _plain

Path = tuple[str | int, ...]

_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    at_key: bool = False  # point at the key itself (unknown or misplaced keys)
    mark: Mark | None = None  # exact position, when the path cannot locate it


class InventoryError(Exception):
    """Raised with every problem found, each already formatted as FILE:LINE:COL: path: msg."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]+")


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            out += f"[{part!r}]"  # a hostile key cannot break the message's line
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


@dataclass
class Source:
    """A parsed YAML document plus a map from value paths to positions."""

    filename: str
    data: Any
    keys: dict[Path, Mark] = field(default_factory=dict)
    values: dict[Path, Mark] = field(default_factory=dict)
    # Problems of the document itself (duplicate keys, anchors, control characters, ...).
    problems: list[Problem] = field(default_factory=list)
    # The text, while `keys` and `values` are not read from it yet (see `fastload`).
    text: str | None = None

    def mark(self, path: Path, *, prefer_key: bool = False) -> Mark:
        """Position of the longest known prefix of `path` (a missing key points at its parent)."""
        if self.text is not None:
            self.read_positions()
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefer_key and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return Mark(1, 1)

    def read_positions(self) -> None:
        """Fill `keys` and `values` with the positional reader (the fast reader found the
        document clean, so this reader finds no problem in it either)."""
        text, self.text = self.text, None
        assert text is not None
        node, anchored = _compose(text, self.filename)
        if node is not None:
            _Walker(self, anchored).build(node, ())

    def format(self, problem: Problem, *, prefer_key: bool = False) -> str:
        m = problem.mark or self.mark(problem.path, prefer_key=prefer_key or problem.at_key)
        return (
            f"{self.filename}:{m.line}:{m.column}: {format_path(problem.path)}: {problem.message}"
        )


def _tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def control_message(text: str) -> str | None:
    """Why `text` is refused for holding a control character, or None."""
    found = CONTROL.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:  # only a YAML escape makes one: no UTF-8 text holds it
        return f"character U+{code:04X} (a lone UTF-16 surrogate) is not allowed"
    return (
        f"control character U+{code:04X} is not allowed "
        "(no newlines, tabs or other control characters in inventory values)"
    )


def _tagged(tag: str, value: str) -> Any:
    """A scalar with an explicit core tag (!!str, !!int, ...); ValueError if it does not fit."""
    if tag == _STR:
        return value
    resolved = _plain(value)
    number = isinstance(resolved, (int, float)) and not isinstance(resolved, bool)
    if tag == _INT and number and isinstance(resolved, int):
        return resolved
    if tag == _FLOAT and number:
        return float(resolved)
    if (tag == _BOOL and isinstance(resolved, bool)) or (tag == _NULL and resolved is None):
        return resolved
    raise ValueError(f"{value!r} is not a valid {_tag(tag)}")


class _Walker:
    def __init__(self, src: Source, anchored: dict[int, str]) -> None:
        self.src = src
        self.anchored = anchored

    def problem(self, path: Path, message: str, node: yaml.Node) -> None:
        self.src.problems.append(Problem(path, message, mark=_mark(node)))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.src.values[path] = _mark(node)
        if id(node) in self.anchored:
            self.problem(
                path,
                f"anchor &{self.anchored[id(node)]}: anchors and aliases are not supported; "
                "write the value out (settings shared by hosts go under 'site')",
                node,
            )
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.problem(
                    path, f"tag {_tag(node.tag)} is not supported (plain lists only)", node
                )
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        if node.tag != _MAP:
            self.problem(path, f"tag {_tag(node.tag)} is not supported (plain mappings only)", node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in out:
                self.src.problems.append(
                    Problem(child, f"duplicate key {key!r} (the earlier value would be lost)")
                )
            self.src.keys[child] = _mark(key_node)
            out[key] = self.build(value_node, child)
        return out

    def key(self, node: yaml.Node, path: Path) -> str | int | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == _ALIAS:
            self.problem(path, "a key must be a plain word, not a list, mapping or alias", node)
            return None
        if node.tag == _PLAIN and node.value == "<<":
            self.problem(path, "merge keys (<<) are not supported: write the keys out", node)
            return None
        value = self.scalar_value(node, path)
        key: str | int = value if isinstance(value, (str, int)) else str(value)
        if isinstance(key, bool):
            key = str(key)
        why = control_message(key) if isinstance(key, str) else None
        if why:
            self.problem((*path, key), why, node)
        return key

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _ALIAS:
            self.problem(
                path,
                f"alias *{node.value}: anchors and aliases are not supported; write the value "
                "out (settings shared by hosts go under 'site')",
                node,
            )
            return None
        value = self.scalar_value(node, path)
        if isinstance(value, str):
            why = control_message(value)
            if why:
                self.problem(path, why, node)
        return value

    def scalar_value(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _PLAIN:
            hint = _ambiguous(node.value)
            if hint:
                self.problem(path, hint, node)
                return node.value
            return _plain(node.value)
        if node.tag not in _SCALAR_TAGS:
            self.problem(
                path, f"tag {_tag(node.tag)} is not supported (core YAML types only)", node
            )
            return node.value
        try:
            return _tagged(node.tag, node.value)
        except ValueError as exc:
            self.problem(path, str(exc), node)
            return node.value


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _compose(text: str, filename: str) -> tuple[yaml.Node | None, dict[int, str]]:
    fast = compose_fast(text)
    if fast is not None:
        return fast
    loader: StrictLoader | None = None
    try:
        loader = StrictLoader(text)  # the reader checks every character here
        return loader.get_single_node(), loader.anchored
    except TooDeep as exc:
        where = f"{exc.mark.line}:{exc.mark.column}"
        message = f"nested more than {MAX_DEPTH} levels deep"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        message = f"YAML: {exc.problem}"
    except yaml.reader.ReaderError as exc:
        where = _position(text, exc.position)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"character U+{char:04X} is not allowed in YAML text"
    finally:
        if loader is not None:
            loader.dispose()
    raise InventoryError([f"{filename}:{where}: (document): {message}"])


def load(text: str, filename: str) -> Source:
    """Parse YAML text; raises InventoryError with the parser's position on syntax errors."""
    fast = fastload.load_plain(text)
    if fast is not None:
        return Source(filename=filename, data=fast[0], text=text)
    node, anchored = _compose(text, filename)
    src = Source(filename=filename, data=None)
    if node is None:
        src.data = {}
        return src
    src.data = _Walker(src, anchored).build(node, ())
    return src


def decode(data: bytes, filename: str) -> str:
    """UTF-8 text; an undecodable byte is reported at its own line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise InventoryError(
            [
                f"{filename}:{line}:{column}: (document): byte 0x{data[exc.start]:02x} is not "
                "UTF-8 (save the inventory as UTF-8 text)"
            ]
        ) from None
