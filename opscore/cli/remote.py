"""What the commands that talk to a running service share: where it is, and exit codes.

`--url` and `--api-key` are read by each command group (and `tail`), from the
environment by default; a subcommand may repeat them after its name. Client errors
become one `Error:` line on stderr and an exit code a script can branch on.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

import click

from ..client import (
    Conflict,
    EventNotAllowed,
    Forbidden,
    NotFound,
    OpsCoreClient,
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
from ..client.client import API_KEY_VARIABLE, DEFAULT_URL, URL_VARIABLE

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(IntEnum):
    """The exit codes of the commands that talk to a service (documented in docs/client.md)."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2  # click's own, and input the service refused as invalid (413, 415, 422)
    NOT_FOUND = 3
    CONFLICT = 4  # 409, 412
    AUTH = 5  # 401, 403
    UNAVAILABLE = 6  # unreachable, 5xx, 429
    RUN_NOT_SUCCEEDED = 7  # `runs start --wait`: the run failed or was cancelled
    DEADLINE = 8  # `runs start --wait`: the run had not finished by the deadline


_CODES: tuple[tuple[type[OpsCoreClientError], ExitCode], ...] = (
    (NotFound, ExitCode.NOT_FOUND),
    (Conflict, ExitCode.CONFLICT),
    (PreconditionFailed, ExitCode.CONFLICT),
    (Unauthorized, ExitCode.AUTH),
    (Forbidden, ExitCode.AUTH),
    (TransportError, ExitCode.UNAVAILABLE),
    (ServerError, ExitCode.UNAVAILABLE),
    (RateLimited, ExitCode.UNAVAILABLE),
    (ValidationFailed, ExitCode.USAGE),
    (PayloadTooLarge, ExitCode.USAGE),
    (UnsupportedMediaType, ExitCode.USAGE),
)


def exit_code(error: OpsCoreClientError) -> ExitCode:
    """The exit code a client error ends a command with."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.UNEXPECTED


class Failure(click.ClickException):
    """A command's failure: click prints `Error: <message>` and exits with `exit_code`."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def describe(error: OpsCoreClientError) -> str:
    """A one-line explanation of a client error, with what to do about it when we know."""
    if isinstance(error, EventNotAllowed):
        return f"{error.message}; allowed: {', '.join(error.allowed_events) or 'none'}"
    if isinstance(error, Unauthorized):
        return f"{error.message} (set {API_KEY_VARIABLE} or pass --api-key)"
    if isinstance(error, ValidationFailed):
        details = [
            f"{where.removeprefix('json.')}: {text}" if where else text
            for where, text in _details(error.errors)
            if where != "allowed_events" and text not in error.message
        ]
        return "; ".join([error.message, *details])  # a detail the message says is said once
    return error.message


def _details(errors: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(dotted field path, message) for each leaf of a 422's `errors`."""
    if isinstance(errors, dict):
        for name, value in errors.items():
            yield from _details(value, (*where, str(name)))
    elif isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        yield ".".join(where), " ".join(errors)
    else:
        yield ".".join(where), json.dumps(errors)


def reports_failures(command: F) -> F:
    """Decorator: turn client errors raised by a command into `Error:` lines and exit codes."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OpsCoreClientError as error:
            raise Failure(describe(error), exit_code(error)) from error

    return wrapper  # type: ignore[return-value]


@dataclass
class Connection:
    """Where the service is and the key to use; the options fill it in."""

    url: str | None = None
    api_key: str | None = None

    def client(self) -> OpsCoreClient:
        """A client of the service."""
        try:
            return OpsCoreClient(self.url or DEFAULT_URL, self.api_key or "")
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--url") from None


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        setattr(ctx.ensure_object(Connection), param.name or "", value)
    return value


def connection_options(*, from_env: bool = False) -> Callable[[F], F]:
    """`--url` and `--api-key`; with `from_env`, defaulting to OPSCORE_URL / OPSCORE_API_KEY."""

    def decorate(command: F) -> F:
        url = click.option(
            "--url",
            envvar=URL_VARIABLE if from_env else None,
            callback=_remember,
            expose_value=False,
            help=f"The service's URL (default ${URL_VARIABLE} or {DEFAULT_URL}).",
        )
        key = click.option(
            "--api-key",
            envvar=API_KEY_VARIABLE if from_env else None,
            callback=_remember,
            expose_value=False,
            help=f"The API key (default ${API_KEY_VARIABLE}).",
        )
        return url(key(command))

    return decorate


def service() -> OpsCoreClient:
    """A client of the service the current command's options name."""
    return click.get_current_context().ensure_object(Connection).client()


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table."
)


def json_argument(text: str | None, what: str) -> Any:
    """Parse a JSON option value; `@path` reads it from a file, `-` from stdin."""
    if text is None:
        return None
    source = text
    if text == "-":
        source = sys.stdin.read()
    elif text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as file:
                source = file.read()
        except OSError as error:
            raise click.BadParameter(f"cannot read {text[1:]}: {error}", param_hint=what) from None
    try:
        return json.loads(source)
    except ValueError as error:
        raise click.BadParameter(f"not valid JSON: {error}", param_hint=what) from None


def json_object(text: str | None, what: str) -> dict[str, Any]:
    """A JSON option value that must be an object; `{}` when absent."""
    value = json_argument(text, what)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=what)
    return value
