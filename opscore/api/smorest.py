"""Thin subclasses of flask-smorest's Api and Blueprint: the home of our shared HTTP behaviour.

- error responses keep the exception's own headers (`Allow` on 405, `Retry-After`);
- every error message says what is wrong: a 422 names the fields and their limits, a 413
  the body limit and its setting;
- JSON bodies that are malformed, too deep or hold NaN are a 422, never a 400 or 500;
- pages are bounded (`page_size` by 500, `page` by MAX_PAGE);
- the API key security scheme is declared once, and public operations opt out;
- `X-Pagination` is documented as the JSON object it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import current_app, request
from flask_smorest.pagination import PaginationMetadataSchema, PaginationParameters
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, UnprocessableEntity

from ..apikeys import API_KEY_HEADER
from .openapi import SharedAnswers

SECURITY_SCHEME = "ApiKeyAuth"
BEARER_SCHEME = "BearerAuth"
PUBLIC = {"security": []}
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_PAGE = 1_000_000  # keeps offsets far inside the SQL stores' 64-bit integers
BODY_LIMIT_SETTING = "OPSCORE_MAX_BODY_BYTES"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(data: bytes) -> Any:
    """Parse a request body; raise UnprocessableEntity naming what is wrong with it."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        message = "request body is not UTF-8"
    except RecursionError:
        message = "request body is nested too deeply"
    except ValueError as error:
        message = f"request body is not valid JSON: {error}"
    error = UnprocessableEntity(message)
    error.data = {"message": message, "errors": {"json": [message]}}
    raise error


class JsonParser(FlaskParser):
    """webargs' Flask parser with our JSON reading: clear 422s for every bad body."""

    def _raw_load_json(self, req: Any) -> Any:
        if not self.is_json_request(req):
            return super()._raw_load_json(req)
        data = req.get_data(cache=True)
        return parse_json_body(data) if data else super()._raw_load_json(req)

    @staticmethod
    def is_json_request(req: Any) -> bool:
        """Whether the request says its body is JSON."""
        mimetype = req.mimetype or ""
        return mimetype == "application/json" or mimetype.endswith("+json")


class PageQuerySchema(ma.Schema):
    """`page` and `page_size`, each bounded, with messages that name the bounds."""

    class Meta:
        unknown = ma.EXCLUDE

    page = ma.fields.Integer(
        load_default=1,
        validate=ma.validate.Range(min=1, max=MAX_PAGE, error="must be {min} to {max}"),
    )
    page_size = ma.fields.Integer(
        load_default=DEFAULT_PAGE_SIZE,
        validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE, error="must be {min} to {max}"),
    )

    @ma.post_load
    def make_paginator(self, data: dict, **_: Any) -> PaginationParameters:
        """The parameters as flask-smorest's pagination expects them."""
        return PaginationParameters(**data)


class PageParser(FlaskParser):
    """Reads pagination parameters with PageQuerySchema, whatever schema it is handed."""

    def parse(self, argmap: Any, req: Any = None, **kwargs: Any) -> Any:
        return super().parse(PageQuerySchema(), req, **kwargs)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint with our JSON parser and our bounded pagination."""

    ARGUMENTS_PARSER = JsonParser()
    PAGINATION_ARGUMENTS_PARSER = PageParser()
    DEFAULT_PAGINATION_PARAMETERS = {  # noqa: RUF012
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
    }

    def paginate(self, pager: Any = None, **kwargs: Any) -> Callable[[Callable], Callable]:
        """flask-smorest's pagination, documented (and parsed) with PageQuerySchema."""
        paginated = super().paginate(pager, **kwargs)

        def decorator(func: Callable) -> Callable:
            wrapper = paginated(func)
            wrapper._apidoc["pagination"]["parameters"]["schema"] = PageQuerySchema
            return wrapper

        return decorator

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """As flask-smorest's, but a schema class is built once, here, not on every request.

        webargs instantiates a schema class per request, a tenth of an event's CPU time;
        loading with one shared instance is safe (loading keeps nothing on the schema).
        """
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


def summarize(errors: Any, prefix: str = "") -> list[str]:
    """`field: message` lines from marshmallow's nested error messages (locations dropped)."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            inner = "" if key in ("json", "query", "headers", "path", "_schema") else str(key)
            lines += summarize(value, f"{prefix}.{inner}".strip(".") if inner else prefix)
        return lines
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return [f"{prefix}: {item}" if prefix else item for item in errors]
    if isinstance(errors, list):
        return [line for item in errors for line in summarize(item, prefix)]
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def body_too_large_message() -> str:
    """What a 413 says: the body's size when known, the limit and the setting that sets it."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    size = request.content_length
    if size is not None and size > limit:
        return f"request body is {size} bytes; the limit is {limit} ({BODY_LIMIT_SETTING})"
    return f"request body is larger than the limit of {limit} bytes ({BODY_LIMIT_SETTING})"


class Api(flask_smorest.Api):
    """flask-smorest Api that keeps error headers and declares API-key security."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Answer `{code, status, message, errors?}`, keeping headers such as `Allow`."""
        payload, code, headers = super().handle_http_exception(error)
        if isinstance(error, RequestEntityTooLarge):
            payload["message"] = body_too_large_message()
        elif "message" not in payload and payload.get("errors"):
            lines = summarize(payload["errors"])
            payload["message"] = "; ".join(lines[:5]) + ("; ..." if len(lines) > 5 else "")
        payload.setdefault("message", error.description or error.name)
        own = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return payload, code, {**own, **dict(headers or {})}

    def _register_pagination_header(self) -> None:
        """Document `X-Pagination` truthfully: its value is a JSON object, not a CSV header."""
        self.spec.components.schema("PaginationMetadata", schema=PaginationMetadataSchema)
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "Pagination metadata, as a JSON object.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/PaginationMetadata"}
                    }
                },
            },
        )

    def _init_spec(self, *args: Any, extra_plugins: Any = (), **kwargs: Any) -> None:
        plugins = (SharedAnswers(), *extra_plugins)
        super()._init_spec(*args, extra_plugins=plugins, **kwargs)
        self.spec.components.security_scheme(
            SECURITY_SCHEME, {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
        )
        self.spec.components.security_scheme(
            BEARER_SCHEME,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The same API key, for clients that cannot set "
                "X-API-Key (Prometheus).",
            },
        )
