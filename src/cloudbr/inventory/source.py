"""Read YAML while remembering where every value came from.

Validation errors carry a location path such as ("hosts", 0, "bonds", 1, "mode"); this
module maps such a path back to the line and column an operator can jump to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    at_key: bool = False  # point at the key itself (unknown or misplaced keys)


class InventoryError(Exception):
    """Raised with every problem found, each already formatted as FILE:LINE:COL: path: msg."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
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
    duplicate_keys: list[Problem] = field(default_factory=list)

    def mark(self, path: Path, *, prefer_key: bool = False) -> Mark:
        """Position of the longest known prefix of `path` (a missing key points at its parent)."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefer_key and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return Mark(1, 1)

    def format(self, problem: Problem, *, prefer_key: bool = False) -> str:
        m = self.mark(problem.path, prefer_key=prefer_key or problem.at_key)
        return (
            f"{self.filename}:{m.line}:{m.column}: {format_path(problem.path)}: {problem.message}"
        )


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.src.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build_scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    key = str(key)
                child = (*path, key)
                if key in out:
                    self.src.duplicate_keys.append(
                        Problem(child, f"duplicate key {key!r} (the earlier value would be lost)")
                    )
                self.src.keys[child] = _mark(key_node)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.build_scalar(node)

    def build_scalar(self, node: yaml.ScalarNode) -> Any:
        # YAML 1.1 reads an unquoted MAC such as 52:54:00:12:34:56 as a base-60 integer;
        # keep anything with a colon as the text the operator wrote.
        if node.tag in (_INT_TAG, _FLOAT_TAG) and ":" in node.value:
            return node.value
        return self.constructor.construct_object(node, deep=True)


def load(text: str, filename: str) -> Source:
    """Parse YAML text; raises InventoryError with the parser's position on syntax errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise InventoryError([f"{filename}:{where}: (document): YAML: {exc.problem}"]) from None
    src = Source(filename=filename, data=None)
    if node is None:
        src.data = {}
        return src
    src.data = _Walker(src).build(node, ())
    return src
