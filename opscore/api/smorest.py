"""Thin subclasses of flask-smorest's Api and Blueprint: the home of our shared HTTP behaviour.

- error responses keep the exception's own headers (`Allow` on 405, `Retry-After`);
- JSON bodies that are malformed, too deep or hold NaN are a 422, never a 400 or 500;
- the API key security scheme is declared once, and public operations opt out;
- `X-Pagination` is documented as the JSON object it is.
"""

from __future__ import annotations

import json
from typing import Any

import flask_smorest
from flask_smorest.pagination import PaginationMetadataSchema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, UnprocessableEntity

from ..apikeys import API_KEY_HEADER

SECURITY_SCHEME = "ApiKeyAuth"
BEARER_SCHEME = "BearerAuth"
PUBLIC = {"security": []}


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


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint with our JSON parser and our page-size defaults."""

    ARGUMENTS_PARSER = JsonParser()
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 50, "max_page_size": 500}  # noqa: RUF012

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """As flask-smorest's, but a schema class is built once, here, not on every request.

        webargs instantiates a schema class per request, a tenth of an event's CPU time;
        loading with one shared instance is safe (loading keeps nothing on the schema).
        """
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


class Api(flask_smorest.Api):
    """flask-smorest Api that keeps error headers and declares API-key security."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Answer `{code, status, message, errors?}`, keeping headers such as `Allow`."""
        payload, code, headers = super().handle_http_exception(error)
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

    def _init_spec(self, *args: Any, **kwargs: Any) -> None:
        super()._init_spec(*args, **kwargs)
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
