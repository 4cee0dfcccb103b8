"""Path parameters: converters that document their limits, and the 422 past those limits.

A path segment longer than its limit, or with characters its kind never has (`bad id!`,
a NUL), is a 422 naming the rule, checked before any store sees it: ids in the path are
checked like ids in a body. A well-formed segment that names nothing is a 404.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter

from ..names import NAME_MAX, NAME_PATTERN
from ..services.validation import ID_MAX, ID_PATTERN
from . import errors
from .http import current_request, json_response


class LimitedConverter(BaseConverter):
    """A path parameter with a length limit and a pattern, checked after routing (see below).

    Any segment routes, so that a malformed one is a 422 that says why rather than a 404.
    """

    max_length: int
    pattern: str
    rule: str  # the pattern in words, for the 422

    def too_long(self, value: str) -> str | None:
        """Why `value` passes the limit, if it does."""
        if len(value) > self.max_length:
            return f"is {len(value)} characters; the limit is {self.max_length}"
        return None

    def problem(self, value: str) -> str | None:
        """Why `value` is no parameter of this kind (too long, or off the pattern), if it is not."""
        too_long = self.too_long(value)
        if too_long:
            return too_long
        if not re.match(self.pattern, value):
            return f"must be {self.rule}"
        return None


class InstanceIdConverter(LimitedConverter):
    """`<id:agent_id>`: an agent, session or run id (any segment routes; limits are checked)."""

    max_length = ID_MAX
    pattern = ID_PATTERN.pattern
    rule = f"1-{ID_MAX} letters, digits, '.', '_', ':' or '-', starting with a letter or digit"


class NameConverter(LimitedConverter):
    """`<name:step>`: a machine, workflow or step name."""

    max_length = NAME_MAX
    pattern = NAME_PATTERN
    rule = f"1-{NAME_MAX} letters, digits or '_', starting with a letter"


_SEGMENT = NAME_PATTERN.strip("^$")


class StepPathConverter(LimitedConverter):
    """`<step:step>`: a step's name, or its path inside branches and map items
    (`fan_out/research/search`, `each_doc/3/summarize`); each part is a name's length."""

    regex = "[^/].*?"  # like werkzeug's `path`: segments with slashes between them
    part_isolating = False
    max_length = 512
    pattern = f"^{_SEGMENT}(/({_SEGMENT}|[0-9]+)/{_SEGMENT})*$"
    rule = "a step name, or step names and item numbers joined by '/'"

    def too_long(self, value: str) -> str | None:
        """The path, or one of its parts, passes its limit."""
        longest = max(value.split("/"), key=len)
        if len(longest) > NAME_MAX:
            return f"is {len(longest)} characters; the limit is {NAME_MAX}"
        return super().too_long(value)


CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": InstanceIdConverter,
    "name": NameConverter,
    "step": StepPathConverter,
}


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


def reject_malformed_path_parameters() -> Any:
    """A path parameter past its converter's limit or off its pattern is a 422 saying which."""
    request = current_request()
    if request.url_rule is None or not request.view_args:
        return None
    converters = _converters_of(request.url_rule)
    reasons = {
        name: converters[name].problem(value)
        for name, value in request.view_args.items()
        if name in converters
    }
    problems = {name: [reason] for name, reason in reasons.items() if reason}
    if not problems:
        return None
    message = "; ".join(f"{name} {lines[0]}" for name, lines in problems.items())
    return json_response(errors.error_body(422, message, {"path": problems}), 422)


def _converters_of(rule: Any) -> dict[str, LimitedConverter]:
    """The rule's parameters that one of our converters routes."""
    return {
        name: converter
        for name, converter in rule._converters.items()  # as flask-smorest reads them too
        if isinstance(converter, LimitedConverter)
    }
