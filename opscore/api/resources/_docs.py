"""Shared OpenAPI documentation of error answers and headers."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

LOCATION = {
    "Location": {"description": "URL of the created resource.", "schema": {"type": "string"}}
}
ETAG = {
    "ETag": {"description": "Entity tag of the current revision.", "schema": {"type": "string"}}
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Retry safely: the first answer given to this key is replayed.",
}
MERMAID_TEXT = {
    "type": "string",
    "description": "A Mermaid `stateDiagram-v2`.",
    "example": "stateDiagram-v2\n  direction LR\n  ...",
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "Fire only if the instance still has this ETag (else 412).",
}


def link(
    path: str, method: str, description: str, body: Any = None, **parameters: str
) -> dict[str, Any]:
    """An OpenAPI link from an answer to the operation `method path`, filling its parameters
    (and, if given, its request body).

    Parameter values are runtime expressions, such as `$response.body#/id`.
    """
    pointer = path.replace("~", "~0").replace("/", "~1")
    found = {
        "operationRef": f"#/paths/{pointer}/{method}",
        "parameters": parameters,
        "description": description,
    }
    if body is not None:
        found["requestBody"] = body
    return found


def links(status: int, **named: dict[str, Any]) -> dict[str, Any]:
    """`blp.doc` keyword arguments declaring the links of the `status` answer."""
    return {"responses": {status: {"links": named}}}


# Answers every authenticated operation can give, and those of operations taking a body.
COMMON = (401, 422)
WITH_BODY = (413, 415)


def errors(blp: Any, *codes: int) -> Callable[[Callable], Callable]:
    """Document the error answers (standard error body) an operation can give."""

    def decorate(func: Callable) -> Callable:
        documented = func
        for code in sorted({*COMMON, *codes}, reverse=True):
            documented = blp.alt_response(code, response=HTTPStatus(code).name)(documented)
        # Keep the documentation, drop the pass-through wrapper each alt_response adds
        # (seven on a typical operation, each paid on every request).
        func._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return func

    return decorate
