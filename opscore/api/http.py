"""Small HTTP helpers shared by the resources."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request

from ..core import OpsCore


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response built from an already-presented body; None means no body (204, 304)."""
    if body is None:
        return current_app.response_class(status=status, headers=dict(headers or {}))
    return current_app.response_class(
        json.dumps(body, separators=(",", ":")) + "\n",
        status=status,
        headers=dict(headers or {}),
        mimetype="application/json",
    )


def text_response(text: str, status: int = 200) -> Response:
    """A plain-text (UTF-8) response."""
    return current_app.response_class(text + "\n", status=status, mimetype="text/plain")


def core() -> OpsCore:
    """The OpsCore this app serves."""
    return current_app.extensions["opscore"]


def if_match() -> set[str] | None:
    """The strong ETags of `If-Match` (quoted, as `Instance.etag`), or None when absent or `*`."""
    header = request.if_match
    if not request.headers.get("If-Match") or header.star_tag:
        return None
    return {f'"{tag}"' for tag in header.as_set()}


def page_of(items: list, pagination: Any) -> list:
    """The requested page of an in-memory list, recording its length for X-Pagination."""
    pagination.item_count = len(items)
    return items[pagination.first_item : pagination.first_item + pagination.page_size]


def offset_limit(pagination: Any) -> tuple[int, int]:
    """flask-smorest pagination parameters as (offset, limit)."""
    return pagination.first_item, pagination.page_size
