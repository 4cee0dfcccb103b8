"""References into a run's data: `$.input.url`, `$.steps.fetch.output.items[0]`, and inside
a map step's steps `$.item` (the item) and `$.index` (its place in the list).

A parameter that is exactly a reference is replaced by the value it names; inside a
longer string, `{$.path}` is replaced by the value's text. `$$` at the start of a string
escapes a literal `$`. Paths are parsed, never evaluated: there is no code here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_SEGMENT = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^'\]]+)'\]")
_PLACEHOLDER = re.compile(r"\{(\$[^{}\s]*)\}")
ROOTS = ("input", "steps", "run", "error", "item", "index")


class PathError(ValueError):
    """A reference is malformed or names nothing."""


def parse_path(path: str) -> tuple[str | int, ...]:
    """The segments of `$.a.b[0]`; PathError if it is not a valid reference."""
    if not path.startswith("$"):
        raise PathError(f"'{path}' does not start with '$'")
    segments: list[str | int] = []
    position = 1
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if not match:
            raise PathError(f"'{path}' is not a valid reference at character {position + 1}")
        name, index, quoted = match.groups()
        segments.append(int(index) if index is not None else (name or quoted))
        position = match.end()
    if not segments or segments[0] not in ROOTS:
        raise PathError(f"'{path}' must start with one of: " + ", ".join(f"$.{r}" for r in ROOTS))
    return tuple(segments)


def lookup(data: Any, path: str) -> Any:
    """The value `path` names in `data`; PathError if any segment is missing."""
    value = data
    for segment in parse_path(path):
        try:
            value = value[segment]
        except (KeyError, IndexError, TypeError):
            raise PathError(f"'{path}' names nothing in the run's data") from None
    return value


def is_reference(value: Any) -> bool:
    """Whether a parameter value is a whole-value reference."""
    return isinstance(value, str) and value.startswith("$.")


def references(value: Any, where: tuple = ()) -> list[tuple[tuple, str]]:
    """Every reference (whole or `{...}` placeholder) in a parameter value, with its place."""
    if isinstance(value, Mapping):
        return [ref for key, item in value.items() for ref in references(item, (*where, key))]
    if isinstance(value, list):
        return [ref for i, item in enumerate(value) for ref in references(item, (*where, i))]
    if is_reference(value):
        return [(where, value)]
    if isinstance(value, str) and not value.startswith("$$"):
        return [(where, ref) for ref in _PLACEHOLDER.findall(value)]
    return []


def resolve(value: Any, data: Any) -> Any:
    """`value` with every reference replaced from `data` (PathError if one names nothing)."""
    if isinstance(value, Mapping):
        return {key: resolve(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, data) for item in value]
    if not isinstance(value, str):
        return value
    if value.startswith("$$"):
        return value[1:]
    if is_reference(value):
        return lookup(data, value)
    return _PLACEHOLDER.sub(lambda m: _text(lookup(data, m.group(1))), value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
