"""Error answers become typed exceptions carrying the facts a caller needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from opscore.client import (
    ApiError,
    Conflict,
    EventNotAllowed,
    Forbidden,
    NotFound,
    OpsCoreClientError,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from opscore.client.errors import error_from_response, retry_after_seconds


def answer(status, errors=None, headers=None, message="it went wrong"):
    body = {"code": status, "status": "Whatever", "message": message}
    if errors is not None:
        body["errors"] = errors
    return error_from_response(status, "Reason", headers or {}, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ApiError),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (405, ApiError),
        (409, Conflict),
        (412, PreconditionFailed),
        (413, PayloadTooLarge),
        (415, UnsupportedMediaType),
        (422, ValidationFailed),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_each_status_raises_its_own_exception(status, kind):
    error = answer(status)
    assert type(error) is kind
    assert (error.status, error.code, error.message) == (status, "Whatever", "it went wrong")


def test_every_client_error_shares_one_root():
    assert issubclass(ApiError, OpsCoreClientError)
    assert issubclass(TransportError, OpsCoreClientError)


def test_409_with_allowed_events_is_event_not_allowed():
    error = answer(409, {"event": "resume", "state": "active", "allowed_events": ["pause"]})
    assert isinstance(error, EventNotAllowed)
    assert (error.event, error.state, error.allowed_events, error.guards) == (
        "resume",
        "active",
        ["pause"],
        [],
    )


def test_412_exposes_the_current_etag():
    assert answer(412, {"etag": '"3.abc"'}).current_etag == '"3.abc"'


def test_429_exposes_its_retry_after():
    assert answer(429, headers={"Retry-After": "7"}).retry_after == 7.0


def test_a_body_that_is_not_the_apis_json_still_gives_a_readable_error():
    error = error_from_response(502, "Bad Gateway", {}, b"<html>upstream down</html>")
    assert isinstance(error, ServerError)
    assert error.code == "Bad Gateway"
    assert error.message == "502 Bad Gateway: <html>upstream down</html>"
    assert error.errors == {}


def test_retry_after_accepts_an_http_date():
    later = datetime.now(UTC) + timedelta(seconds=120)
    seconds = retry_after_seconds({"Retry-After": format_datetime(later, usegmt=True)})
    assert 100 < seconds <= 120


@pytest.mark.parametrize("value", [None, "", "soon", "-5"])
def test_retry_after_that_is_absent_or_unreadable_is_none(value):
    assert retry_after_seconds({"Retry-After": value} if value is not None else {}) is None
