"""Path parameters: converters that document their limits, and the 422 past those limits.

A path segment longer than its limit is a 422 naming the limit (not a 404 that echoes
the whole segment back); a segment within the limit that names nothing is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import BaseConverter

from ..definitions.fields import NAME_MAX, NAME_PATTERN
from ..services.validation import ID_MAX, ID_PATTERN
from . import errors
from .http import json_response


class InstanceIdConverter(BaseConverter):
    """`<id:agent_id>`: an agent, session or run id (any segment routes; limits are checked)."""

    max_length = ID_MAX
    pattern = ID_PATTERN.pattern


class NameConverter(BaseConverter):
    """`<name:step>`: a machine, workflow or step name."""

    max_length = NAME_MAX
    pattern = NAME_PATTERN


CONVERTERS: dict[str, type[BaseConverter]] = {"id": InstanceIdConverter, "name": NameConverter}


def parameter_schema(converter: Any) -> dict[str, Any]:
    """The OpenAPI schema of a path parameter routed by one of our converters."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": converter.max_length,
        "pattern": converter.pattern,
    }


def register_converters(app: Flask, api: Any) -> None:
    """Make `id` and `name` usable in routes and documented in the OpenAPI document."""
    app.url_map.converters.update(CONVERTERS)
    for converter in CONVERTERS.values():
        api.register_converter(converter, parameter_schema)


def reject_overlong_path_parameters() -> Any:
    """A path parameter past its converter's length limit is a 422 naming the limit."""
    if request.url_rule is None or not request.view_args:
        return None
    converters = _converters_of(request.url_rule)
    problems = {
        name: [f"is {len(value)} characters; the limit is {converters[name].max_length}"]
        for name, value in request.view_args.items()
        if name in converters and len(value) > converters[name].max_length
    }
    if not problems:
        return None
    message = "; ".join(f"{name} {lines[0]}" for name, lines in problems.items())
    return json_response(errors.error_body(422, message, {"path": problems}), 422)


def _converters_of(rule: Any) -> dict[str, BaseConverter]:
    """The rule's parameters that one of our converters routes."""
    return {
        name: converter
        for name, converter in rule._converters.items()  # as flask-smorest reads them too
        if isinstance(converter, tuple(CONVERTERS.values()))
    }
