"""How the SQL store's JSON columns are encoded and decoded: orjson, with the standard
library for what orjson refuses.

A run's context (its steps' records) is encoded at each of its commits and decoded at
each read; the standard encoder was the largest self time in the PostgreSQL worker's
profile (docs/benchmarks.md). orjson writes the same JSON a tenth as slowly. What it
refuses (an integer past 64 bits) goes to the standard encoder, which writes it or raises
as before; text it cannot read (a `NaN` an earlier version wrote on SQLite) goes to the
standard decoder. JSON has no NaN or infinity: orjson writes them as `null` (the API
refuses them in bodies, so only a YAML `.nan` in a step's params could bring one).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
_OPTIONS |= orjson.OPT_PASSTHROUGH_DATETIME  # as the standard encoder: not JSON, refused


def dumps(value: Any) -> str:
    """`value` as JSON text (str: SQLite stores what it is given, bytes as a BLOB)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """The value JSON `text` holds."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
