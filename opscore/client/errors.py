"""The client's exceptions: one per kind of answer a caller handles differently.

`OpsCoreClientError` is the root. `ApiError` and its subclasses are answers the API
gave (a 4xx or 5xx, with its `{code, status, message, errors}` body); `TransportError`
is a request that got no answer at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

__all__ = [
    "ApiError",
    "Conflict",
    "EventNotAllowed",
    "Forbidden",
    "NotFound",
    "OpsCoreClientError",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "error_from_response",
    "retry_after_seconds",
]


class OpsCoreClientError(Exception):
    """Base of every error the client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransportError(OpsCoreClientError):
    """No answer: the server could not be reached, or the connection failed mid-request.

    `sent` is False when the request certainly never reached the server (the connection
    was refused or could not be opened), so repeating it is always safe.
    """

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class ApiError(OpsCoreClientError):
    """The API answered with an error.

    `status` is the HTTP status (409), `code` the short name the body gives it
    ("Conflict"), `message` the body's human-readable message, `errors` its structured
    details (`{}` when it has none) and `headers` the response headers.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | Message | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.errors: dict[str, Any] = dict(errors or {})
        self.headers = headers if headers is not None else {}

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class Unauthorized(ApiError):
    """401: the `X-API-Key` header is missing or not an accepted key."""


class Forbidden(ApiError):
    """403: the key is known but may not do this."""


class NotFound(ApiError):
    """404: no such agent, session, run, machine or workflow (or route)."""


class Conflict(ApiError):
    """409: the request conflicts with the current state (id taken, run finished, ...)."""


class EventNotAllowed(Conflict):
    """409: the event cannot fire in the instance's current state (or its conditions refused).

    `event`, `state` and `allowed_events` come from the answer; `guards` names the
    conditions that refused it, when that was the reason.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event: str | None = self.errors.get("event")
        self.state: str | None = self.errors.get("state")
        self.allowed_events: list[str] = list(self.errors.get("allowed_events") or [])
        self.guards: list[str] = list(self.errors.get("guards") or [])


class PreconditionFailed(ApiError):
    """412: `If-Match` did not match; nothing changed. `current_etag` is the one to use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_etag: str | None = self.errors.get("etag")


class PayloadTooLarge(ApiError):
    """413: the request body is larger than the server accepts."""


class UnsupportedMediaType(ApiError):
    """415: the body's content type is not one the endpoint reads."""


class ValidationFailed(ApiError):
    """422: the body or query failed its schema (`errors` names the fields)."""


class RateLimited(ApiError):
    """429: the server is at capacity; `retry_after` is how many seconds it asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after: float | None = retry_after_seconds(self.headers)


class ServerError(ApiError):
    """5xx: the server (or a proxy in front of it) failed or is unavailable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after: float | None = retry_after_seconds(self.headers)


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
}


def error_class(status: int, errors: Mapping[str, Any]) -> type[ApiError]:
    """The exception class for an error answer."""
    if status == 409 and "allowed_events" in errors:
        return EventNotAllowed
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def error_from_response(
    status: int, reason: str, headers: Mapping[str, str] | Message, body: bytes
) -> ApiError:
    """The typed exception for an error answer; bodies not in the API's shape are tolerated."""
    payload = _json_object(body)
    code = payload.get("status") if isinstance(payload.get("status"), str) else None
    message = payload.get("message") if isinstance(payload.get("message"), str) else None
    errors = payload.get("errors") if isinstance(payload.get("errors"), dict) else {}
    code = code or _phrase(status, reason)
    if message is None:
        # Not our body (a proxy's HTML page, say): keep a short, printable excerpt.
        text = body.decode("utf-8", "replace").strip()
        message = f"{status} {code}" + (f": {text[:200]}" if text else "")
    return error_class(status, errors)(status, code, message, errors, headers)


def retry_after_seconds(headers: Mapping[str, str] | Message | None) -> float | None:
    """`Retry-After` as seconds (from a number or an HTTP date), or None when absent or bad."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _phrase(status: int, reason: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return reason or "Error"
