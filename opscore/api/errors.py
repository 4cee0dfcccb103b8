"""Domain errors as HTTP answers in flask-smorest's shape `{code, status, message, errors?}`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue
from loguru import logger

from .. import errors as e
from ..services.definitions import DefinitionError


def error_body(status: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """The standard error payload."""
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors is not None:
        body["errors"] = errors
    return body


def _transition(error: e.TransitionError) -> dict[str, Any]:
    facts = {"event": error.event, "state": error.state, "allowed_events": error.allowed_events}
    if isinstance(error, e.GuardRefused):
        facts["guards"] = error.guards
    return facts


# Errors whose answer is their status and message alone.
_PLAIN_STATUS: tuple[tuple[type[e.OpsCoreError], int], ...] = (
    (e.NotFound, 404),
    (e.AlreadyExists, 409),
    (e.SignatureRefused, 401),
    (e.StreamsBusy, 503),
    (e.StoreBusy, 503),
)


def _with_details(error: e.OpsCoreError) -> tuple[int, dict[str, Any] | None] | None:
    """The status and `errors` of the errors that carry facts a client can act on."""
    match error:
        case e.UnknownEvent():
            return 422, {"json": {"event": [error.message]}, "allowed_events": error.allowed_events}
        case e.TransitionError():
            return 409, _transition(error)
        case e.QueueFull():
            return 429, {"capacity": error.capacity, "retry_after": error.retry_after}
        case e.PreconditionFailed():
            return 412, {"etag": error.current_etag}
        case e.IdempotencyKeyReused():
            return 422, {"headers": {"Idempotency-Key": [error.message]}}
        case e.InvalidRequest():
            return 422, {"json": {error.field or "_schema": [error.message]}}
        case DefinitionError():
            return 422, {"body": [str(problem) for problem in error.problems]}
    return None


def _status_and_errors(error: e.OpsCoreError) -> tuple[int, dict[str, Any] | None]:
    detailed = _with_details(error)
    if detailed is not None:
        return detailed
    for kind, status in _PLAIN_STATUS:
        if isinstance(error, kind):
            return status, None
    return (409, None) if isinstance(error, e.Conflict) else (500, None)


def handle_domain_error(error: e.OpsCoreError) -> ResponseReturnValue:
    """Translate a domain error raised by a service into its HTTP answer."""
    status, errors = _status_and_errors(error)
    headers = {} if error.retry_after is None else {"Retry-After": str(error.retry_after)}
    if status >= 500 and status != 503:
        logger.opt(exception=error).error(
            "unexpected {kind}: {error}", kind=type(error).__name__, error=error.message
        )
        return error_body(status, "the server could not complete the request"), status
    return error_body(status, error.message, errors), status, headers


def init_app(app: Flask) -> None:
    """Register the domain error handler."""
    app.register_error_handler(e.OpsCoreError, handle_domain_error)
