"""The fields and helpers every definition schema shares: names, flags, strict schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..names import NAME_MAX, NAME_PATTERN, NAME_RULE

TEXT_MAX = 2000

name_validators = [
    validate.Length(min=1, max=NAME_MAX),
    validate.Regexp(NAME_PATTERN, error=NAME_RULE),
]


def Name(**kwargs: Any) -> fields.String:  # noqa: N802 - a field factory reads like a field class
    """A state, event or machine name."""
    return fields.String(validate=name_validators, **kwargs)


def Flag(**kwargs: Any) -> fields.Boolean:  # noqa: N802
    """A boolean that accepts only true/false, never yes/no/on/off or 1/0."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class NameList(fields.List):
    """One name or a list of names (callbacks, sources); always loads as a list."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.String(validate=validate.Length(min=1, max=200)), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        return super()._deserialize(value, attr, data, **kwargs)


class StrictSchema(Schema):
    """Unknown fields are errors, so typos never pass silently."""

    class Meta:
        unknown = RAISE


def flatten_errors(messages: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Turn marshmallow's nested error messages into (path, message) pairs."""
    if isinstance(messages, dict):
        pairs = []
        for key, value in messages.items():
            inner = path if key == "_schema" else (*path, key)
            pairs.extend(flatten_errors(value, inner))
        return pairs
    if isinstance(messages, list):
        return [pair for item in messages for pair in flatten_errors(item, path)]
    return [(path, str(messages))]


DROP = object()  # a stand-in that removes an optional field


def load_despite(
    schema: Schema, raw: Any, messages: Any, stand_ins: Mapping[str, Any]
) -> dict | None:
    """`raw` loaded by `schema` once its wrong fields are replaced by `stand_ins` (unknown
    fields dropped), so the checks that never read those fields still run; None when a
    wrong field has no stand-in (the checks would read it).

    A stand-in that is a mapping applies to each item of a list of nested documents.
    """
    patched = _patched(schema, raw, messages, stand_ins)
    if patched is None:
        return None
    try:
        return schema.load(patched)
    except ValidationError:
        return None


def _patched(schema: Schema, raw: Any, messages: Any, stand_ins: Mapping[str, Any]) -> Any:
    if not isinstance(raw, dict) or not isinstance(messages, dict):
        return None
    patched = dict(raw)
    for key, message in messages.items():
        stand_in = stand_ins.get(key)
        if key in raw and key not in schema.fields:
            del patched[key]  # an unknown field
        elif key in stand_ins and not isinstance(stand_in, Mapping):
            if stand_in is DROP:
                patched.pop(key, None)
            else:
                patched[key] = stand_in
        elif isinstance(stand_in, Mapping) and isinstance(raw.get(key), list):
            items = _patched_items(schema.fields[key], raw[key], message, stand_in)
            if items is None:
                return None
            patched[key] = items
        else:
            return None
    return patched


def _patched_items(field: Any, raw: list, messages: Any, stand_ins: Mapping[str, Any]) -> Any:
    inner = getattr(getattr(field, "inner", None), "schema", None)
    if inner is None or not isinstance(messages, dict):
        return None
    items = list(raw)
    for index, item_messages in messages.items():
        if not isinstance(index, int) or not 0 <= index < len(items):
            return None
        item = _patched(inner, items[index], item_messages, stand_ins)
        if item is None:
            return None
        items[index] = item
    return items
