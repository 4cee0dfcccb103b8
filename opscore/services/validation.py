"""Limits on what callers may store, enforced by the services whoever the caller is."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidRequest

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
NAME_MAX = 200
CAPABILITY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
MAX_CAPABILITIES = 64
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 10


def check_id(value: str, field: str = "id") -> str:
    """A client-given id: 1-128 letters, digits, `.`, `_`, `:` or `-`, starting alphanumeric."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidRequest(
            f"{field} must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter "
            "or digit",
            field,
        )
    return value


def check_name(value: str | None, field: str = "name") -> str | None:
    """A display name of at most NAME_MAX characters."""
    if value is not None and (not isinstance(value, str) or len(value) > NAME_MAX):
        raise InvalidRequest(f"{field} must be a string of at most {NAME_MAX} characters", field)
    return value


def check_capabilities(values: Sequence[str]) -> tuple[str, ...]:
    """Distinct capability names, at most MAX_CAPABILITIES of them."""
    if isinstance(values, str) or len(values) > MAX_CAPABILITIES:
        raise InvalidRequest(
            f"capabilities must be a list of at most {MAX_CAPABILITIES}", "capabilities"
        )
    for value in values:
        if not isinstance(value, str) or not CAPABILITY_PATTERN.match(value):
            raise InvalidRequest(f"invalid capability {value!r}", "capabilities")
    return tuple(dict.fromkeys(values))


def check_json_object(value: Mapping[str, Any] | None, field: str) -> dict[str, Any]:
    """A JSON object of at most MAX_JSON_BYTES serialized and MAX_JSON_DEPTH levels."""
    if value is None or (type(value) is dict and not value):
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{field} must be a JSON object", field)
    if not value:
        return {}
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise InvalidRequest(f"{field} is nested deeper than {MAX_JSON_DEPTH} levels", field)
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidRequest(f"{field} must be JSON: {error}", field) from None
    if size > MAX_JSON_BYTES:
        raise InvalidRequest(f"{field} is {size} bytes; the limit is {MAX_JSON_BYTES}", field)
    return dict(value)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, Mapping) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, Mapping | list))
    return False
