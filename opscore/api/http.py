"""Small HTTP helpers shared by the resources."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Flask, Request, Response, current_app, g, request
from flask.ctx import _AppCtxGlobals

from ..core import OpsCore


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response built from an already-presented body; None means no body (204, 304)."""
    response_class = current_application().response_class
    if body is None:
        return response_class(status=status, headers=dict(headers or {}))
    return response_class(
        json.dumps(body, separators=(",", ":")) + "\n",
        status=status,
        headers=dict(headers or {}),
        mimetype="application/json",
    )


def text_response(text: str, status: int = 200) -> Response:
    """A plain-text (UTF-8) response."""
    return current_application().response_class(text + "\n", status=status, mimetype="text/plain")


def current_request() -> Request:
    """The request being served, itself rather than Flask's `request` proxy: each attribute
    read through a proxy first fails a lookup on the proxy (some 0.9 us), and the hooks of
    one request read dozens (docs/benchmarks.md)."""
    return request._get_current_object()  # type: ignore[attr-defined]


def current_application() -> Flask:
    """The app serving the request, itself (see `current_request`)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]


def request_globals() -> _AppCtxGlobals:
    """Flask's `g` of the request being served, itself (see `current_request`)."""
    return g._get_current_object()  # type: ignore[attr-defined]


def core() -> OpsCore:
    """The OpsCore this app serves."""
    return current_application().extensions["opscore"]


def if_match() -> set[str] | None:
    """The strong ETags of `If-Match` (quoted, as `Instance.etag`), or None when absent or `*`."""
    req = current_request()
    if not req.headers.get("If-Match"):
        return None
    header = req.if_match
    if header.star_tag:
        return None
    return {f'"{tag}"' for tag in header.as_set()}


def page_of(items: list, pagination: Any) -> list:
    """The requested page of an in-memory list, recording its length for X-Pagination."""
    pagination.item_count = len(items)
    return items[pagination.first_item : pagination.first_item + pagination.page_size]


def offset_limit(pagination: Any) -> tuple[int, int]:
    """flask-smorest pagination parameters as (offset, limit)."""
    return pagination.first_item, pagination.page_size
