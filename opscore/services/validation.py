"""Limits on what callers may store, enforced by the services whoever the caller is.

Every message names the limit it enforces, and the setting that changes it if any.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import MAX_JSON_BYTES
from ..errors import InvalidRequest

ID_MAX = 128
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
NAME_MAX = 200
# Control characters and lone surrogates: the SQL stores cannot keep them in a text column
# (PostgreSQL refuses NUL, and neither database can encode a lone surrogate as UTF-8).
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CAPABILITY_MAX = 64
CAPABILITY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
MAX_CAPABILITIES = 64
MESSAGE_MAX = 2000
MAX_JSON_DEPTH = 10
JSON_BYTES_SETTING = "OPSCORE_MAX_JSON_BYTES"
NOT_PRINTABLE = "must be printable text: no control characters or lone surrogates"


@dataclass(frozen=True)
class Limits:
    """How large the JSON documents a caller stores may be (metadata, data, input, output)."""

    json_bytes: int = MAX_JSON_BYTES
    json_depth: int = MAX_JSON_DEPTH


DEFAULT_LIMITS = Limits()


def check_id(value: str, field: str = "id") -> str:
    """A client-given id: 1-128 letters, digits, `.`, `_`, `:` or `-`, starting alphanumeric."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a string", field)
    if len(value) > ID_MAX:
        raise InvalidRequest(f"{field} is {len(value)} characters; the limit is {ID_MAX}", field)
    if not ID_PATTERN.match(value):
        raise InvalidRequest(
            f"{field} must be 1-{ID_MAX} letters, digits, '.', '_', ':' or '-', starting with a "
            "letter or digit",
            field,
        )
    return value


def check_name(value: str | None, field: str = "name") -> str | None:
    """A display name of at most NAME_MAX printable characters."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > NAME_MAX:
        raise InvalidRequest(f"{field} must be a string of at most {NAME_MAX} characters", field)
    if UNPRINTABLE.search(value):
        raise InvalidRequest(f"{field} {NOT_PRINTABLE}", field)
    return value


def check_capability(value: str, field: str = "capability") -> str:
    """One capability name: 1-64 letters, digits, '.', '_', ':', '/' or '-'."""
    if (
        not isinstance(value, str)
        or len(value) > CAPABILITY_MAX
        or not CAPABILITY_PATTERN.match(value)
    ):
        raise InvalidRequest(
            f"invalid capability {value!r:.80}: 1-{CAPABILITY_MAX} letters, digits, "
            "'.', '_', ':', '/' or '-', starting with a letter or digit",
            field,
        )
    return value


def check_capabilities(values: Sequence[str]) -> tuple[str, ...]:
    """Distinct capability names, at most MAX_CAPABILITIES of them."""
    if isinstance(values, str) or len(values) > MAX_CAPABILITIES:
        raise InvalidRequest(
            f"capabilities must be a list of at most {MAX_CAPABILITIES}", "capabilities"
        )
    return tuple(dict.fromkeys(check_capability(value, "capabilities") for value in values))


def check_json_object(
    value: Mapping[str, Any] | None, field: str, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """A JSON object within `limits`, as stored (see `check_json`); None is an empty one."""
    if value is None or (type(value) is dict and not value):
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{field} must be a JSON object", field)
    return check_json(value, field, limits) if value else {}


def check_json(value: Any, field: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Any JSON value within `limits`, returned as it reads back once stored.

    The value is serialized and parsed again, so what is kept is plain JSON: tuples become
    lists and non-string keys strings, exactly as a SQL store would give them back.
    """
    if _deeper_than(value, limits.json_depth):
        raise InvalidRequest(
            f"{field} is nested deeper than the limit of {limits.json_depth} levels", field
        )
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidRequest(f"{field} must be JSON: {error}", field) from None
    if len(text) > limits.json_bytes:
        raise InvalidRequest(
            f"{field} is {len(text)} bytes; the limit is {limits.json_bytes} "
            f"({JSON_BYTES_SETTING})",
            field,
        )
    return json.loads(text)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, Mapping | list | tuple):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, Mapping) else item
        stack.extend((child, depth + 1) for child in children)
    return False
