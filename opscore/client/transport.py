"""HTTP for the client: one request over `http.client`, and the policy that retries it safely.

A request is repeated only when that cannot change anything twice: it never reached the
server, the server said it did not act (429, 503), or it is replay-safe (a read, or a
POST carrying an `Idempotency-Key`, which the server answers once).
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .. import __version__
from .errors import ApiError, ServerError, TransportError, error_from_response

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = f"opscore-client/{__version__}"
SAFE_METHODS = frozenset({"GET", "HEAD"})
UNAVAILABLE = frozenset({429, 503})  # the server says it did not act: always safe to repeat

OpsCoreFailure = ApiError | TransportError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is repeated.

    `retries` is the number of repeats after the first attempt. Waits double from
    `backoff` seconds; a `Retry-After` from the server replaces the wait. No wait is
    longer than `max_delay`.
    """

    retries: int = 3
    backoff: float = 0.2
    max_delay: float = 30.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before repeat number `retry` (0 for the first repeat)."""
        wanted = retry_after if retry_after is not None else self.backoff * 2**retry
        return max(0.0, min(wanted, self.max_delay))


@dataclass(frozen=True)
class Response:
    """A complete HTTP answer."""

    status: int
    reason: str
    headers: Message
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8")


def path(*segments: str) -> str:
    """A path from literal parts and ids; every segment is percent-encoded."""
    return "/" + "/".join(quote(str(segment), safe="") for segment in segments)


class Transport:
    """Sends requests to one Ops-Core service; each request opens its own connection."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the Ops-Core URL must be http:// or https://, not {url!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")

    # ---- one attempt --------------------------------------------------------------------

    def open(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request and read the status line; the caller reads the body and closes.

        TransportError(sent=False) when no connection could be opened.
        """
        connection = self._connection(self.timeout if timeout is None else timeout)
        try:
            connection.connect()
        except OSError as error:
            connection.close()
            raise TransportError(f"cannot connect to {self.url}: {error}", sent=False) from error
        try:
            connection.request(method, self._prefix + target, body=body, headers=headers or {})
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise TransportError(f"{method} {target}: {_describe(error)}") from error

    def attempt(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float | None = None,
    ) -> Response:
        """Send one request and read its whole answer (`timeout` replaces the client's)."""
        connection, response = self.open(
            method, target, body=body, headers=headers, timeout=timeout
        )
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise TransportError(f"{method} {target}: {_describe(error)}") from error
        finally:
            response.close()
            connection.close()
        return Response(response.status, response.reason, response.headers, data)

    # ---- with retries -------------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send a request, repeating it when that is safe; raise ApiError for error answers.

        GETs are replay-safe; so is a request with an `idempotency_key`: every attempt
        carries the same key, so the server applies it once.
        """
        target = target + query_string(query)
        sent = self.headers(headers, content_type)
        replay_safe = replay_safe or method in SAFE_METHODS
        if idempotency_key is not None:
            sent[IDEMPOTENCY_HEADER] = idempotency_key
            replay_safe = True
        retry = 0
        while True:
            try:
                response = self.attempt(method, target, body, sent, timeout)
                if response.status < 400:
                    return response
                failure: OpsCoreFailure = error_from_response(
                    response.status, response.reason, response.headers, response.body
                )
            except TransportError as error:
                failure = error
            delay = self.retry_delay(failure, retry, replay_safe)
            if delay is None:
                raise failure
            log.info("retrying %s %s in %.2f s: %s", method, target, delay, failure)
            self.sleep(delay)
            retry += 1

    def retry_delay(self, failure: OpsCoreFailure, retry: int, replay_safe: bool) -> float | None:
        """Seconds to wait before repeating after `failure`, or None to give up."""
        if retry >= self.policy.retries:
            return None
        if isinstance(failure, TransportError):
            return self.policy.delay(retry) if replay_safe or not failure.sent else None
        if failure.status in UNAVAILABLE:
            return self.policy.delay(retry, getattr(failure, "retry_after", None))
        if isinstance(failure, ServerError) and replay_safe:
            return self.policy.delay(retry)
        return None

    def headers(
        self, extra: Mapping[str, str] | None = None, content_type: str | None = None
    ) -> dict[str, str]:
        """The headers every request carries, plus `extra`."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers[API_KEY_HEADER] = self.api_key
        if content_type:
            headers["Content-Type"] = content_type
        headers.update(extra or {})
        return headers

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            context = ssl.create_default_context()
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)


def query_string(query: Mapping[str, Any] | None) -> str:
    """`?a=1&b=2` from the parameters that are not None (booleans as true/false)."""
    pairs = [
        (name, str(value).lower() if isinstance(value, bool) else str(value))
        for name, value in (query or {}).items()
        if value is not None
    ]
    return "?" + urlencode(pairs) if pairs else ""


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
