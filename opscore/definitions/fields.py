"""The fields and helpers every definition schema shares: names, flags, strict schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

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
