"""Inventory loading: YAML -> input schema -> resolved model, with every error at once."""

from __future__ import annotations

import contextlib
import difflib
import gc
import json
import re
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from cloudbr.inventory.pxe import resolve_pxe
from cloudbr.inventory.resolve import host_problems, resolve
from cloudbr.inventory.schema import HostIn, InventoryIn, SiteIn
from cloudbr.inventory.source import (
    InventoryError,
    Problem,
    Source,
    decode,
    format_path,
    load,
)
from cloudbr.model import Inventory

# Far above any real inventory (a thousand hosts take about 300 KiB).
MAX_BYTES = 16 << 20

_BRANCH = re.compile(r"([a-z][a-z0-9_-]*)?\[.*\]")

__all__ = [
    "InventoryError",
    "at_host",
    "json_schema",
    "load_inventory",
    "parse_inventory",
    "problem_at",
]


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys the schema accepts at the mapping that holds `loc`'s last element."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """Find the BaseModel inside list[...] / X | None annotations."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _message(err: Any, loc: tuple[str | int, ...]) -> str:
    kind = err["type"]
    msg: str = err["msg"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(InventoryIn, loc)
        hint = difflib.get_close_matches(key, allowed, n=1)
        text = f"unknown key {key!r}"
        if hint:
            return f"{text} (did you mean {hint[0]!r}?)"
        return f"{text} (allowed: {', '.join(allowed)})" if allowed else text
    if kind == "missing":
        return f"required key {str(loc[-1])!r} is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if (
        kind in ("enum", "literal_error")
        or kind.endswith("_type")
        or kind.startswith(("greater", "less", "too_short", "string_pattern"))
    ):
        value = err.get("input")
        if not isinstance(value, (dict, list)):
            msg = f"{msg} (got {value!r})"
    return msg


def _schema_problems(src: Source, exc: ValidationError) -> list[str]:
    lines = []
    # A value the loader refused already has its message; the schema would only repeat it.
    refused = {p.path for p in src.problems}
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Strip pydantic's union-branch markers such as 'function-after[...]' (not keys such
        # as '0[' an inventory may hold: Hypothesis found that one).
        loc = tuple(p for p in loc if not (isinstance(p, str) and _BRANCH.fullmatch(p)))
        if loc in refused:
            continue
        missing = err["type"] == "missing"
        problem = Problem(loc, _message(err, loc))
        lines.append(src.format(problem, prefer_key=err["type"] == "extra_forbidden" or missing))
    return lines


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Reading an inventory allocates millions of objects and leaves no cycles behind: the
    collector's passes over the growing heap cost more than the work (a third of checking
    10,000 hosts, and the reason the time grew faster than the host count)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_inventory(text: str, filename: str) -> Inventory:
    """Validate an inventory document; raise InventoryError listing every problem."""
    with _no_cyclic_gc():
        return _parse(text, filename)


def _valid_parts(data: dict[str, Any]) -> tuple[SiteIn, list[tuple[int, HostIn]]]:
    """Where the document failed the schema: its site and the hosts that pass it on their own
    (a list's items validate independently, so each is what the whole would have held);
    no hosts when the site itself fails, since every host inherits from it."""
    try:
        site = SiteIn.model_validate(data.get("site", {}))
    except ValidationError:
        return SiteIn(), []
    hosts = data.get("hosts")
    valid = []
    for i, item in enumerate(hosts if isinstance(hosts, list) else []):
        try:
            valid.append((i, HostIn.model_validate(item)))
        except ValidationError:
            continue
    return site, valid


def _parse(text: str, filename: str) -> Inventory:
    src = load(text, filename)
    lines = [src.format(p, prefer_key=True) for p in src.problems]
    if not isinstance(src.data, dict):
        raise InventoryError(
            [*lines, f"{filename}:1:1: (document): expected a mapping with 'hosts'"]
        )
    try:
        doc = InventoryIn.model_validate(src.data)
    except ValidationError as exc:
        lines += _schema_problems(src, exc)
        lines += [src.format(p) for p in host_problems(*_valid_parts(src.data))]
        raise InventoryError(list(dict.fromkeys(lines))) from None
    hosts, problems = resolve(doc)
    pxe, pxe_problems = resolve_pxe(doc.site.pxe, doc.hosts, hosts)
    lines += list(dict.fromkeys(src.format(p) for p in problems + pxe_problems))
    if lines:
        raise InventoryError(lines)
    return Inventory(source=filename, hosts=tuple(hosts), pxe=pxe)


def load_inventory(path: str | FsPath) -> Inventory:
    p = FsPath(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)  # /dev/zero or a mistaken disk image must not fill RAM
    except OSError as exc:
        raise InventoryError([f"{p}:1:1: (document): cannot read: {exc.strerror}"]) from None
    if len(data) > MAX_BYTES:
        raise InventoryError([f"{p}:1:1: (document): larger than {MAX_BYTES >> 20} MiB"])
    return parse_inventory(decode(data, str(p)), str(p))


def problem_at(filename: str, path: tuple[str | int, ...], message: str) -> str:
    """`file:line:col: field: message` for a problem found after the inventory loaded (a limit
    of a rendered document), the file read again for its positions."""
    try:
        src = load(decode(FsPath(filename).read_bytes(), filename), filename)
        return src.format(Problem(path, message))
    except (OSError, InventoryError):  # changed or gone since: the field without a position
        return f"{filename}: {format_path(path)}: {message}"


def at_host(inv: Inventory, hostname: str, message: str) -> InventoryError:
    """A problem of one host found after loading, at that host's place in the inventory."""
    index = [h.hostname for h in inv.hosts].index(hostname)
    return InventoryError([problem_at(inv.source, ("hosts", index), message)])


def json_schema() -> str:
    schema = InventoryIn.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cloudbr inventory"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
