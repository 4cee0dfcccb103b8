"""Who may do what: authentication, scopes, a brake on guessing, and protective headers."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Any

from flask import Flask, Response, current_app, g, request

from ..apikeys import API_KEY_HEADER
from . import errors
from .http import json_response

ADMIN_ENDPOINTS = frozenset(
    {"machines.MachineReload", "machines.Machine", "machines.MachineVersionRetirement"}
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_PREFIXES = ("/v1/", "/health", "/metrics", "/openapi.json")


class FailureBrake:
    """Counts failed authentications per client; past `limit` in `window` seconds, 429."""

    def __init__(self, limit: int = 20, window: float = 60.0, clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.clients = clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, client: str) -> int:
        """Seconds the client must wait (0 when it may try)."""
        with self._lock:
            failures = self._recent(client)
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - time.monotonic()) + 1)

    def failed(self, client: str) -> None:
        """Record a failed authentication."""
        with self._lock:
            failures = self._recent(client)
            failures.append(time.monotonic())
            self._failures.move_to_end(client)
            while len(self._failures) > self.clients:
                self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque(maxlen=self.limit))
        horizon = time.monotonic() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures


def presented_key() -> str | None:
    """The key sent as `X-API-Key`, or as `Authorization: Bearer <key>` (for scrapers)."""
    key = request.headers.get(API_KEY_HEADER)
    if key is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    return key


def needed_scope() -> str:
    """The scope the current request needs."""
    if request.method in READ_METHODS:
        return "read"
    if request.method == "DELETE" or request.endpoint in ADMIN_ENDPOINTS:
        return "admin"
    return "write"


def authenticate(public: frozenset[str]) -> Any:
    """Require a key with the right scope on everything but the public endpoints.

    A path no route matches answers its 404 (or 405) without a key: it holds no data.
    """
    if request.endpoint in public or request.url_rule is None:
        return None
    brake: FailureBrake = current_app.extensions["opscore.brake"]
    client = request.remote_addr or "unknown"
    wait = brake.blocked(client)
    if wait:
        body = errors.error_body(429, "too many failed authentications; wait before retrying")
        return json_response(body, 429, {"Retry-After": str(wait)})
    key = current_app.extensions["opscore.keys"].identify(presented_key())
    if key is None:
        brake.failed(client)
        body = errors.error_body(401, f"a valid {API_KEY_HEADER} header is required")
        return json_response(body, 401, {"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
    scope = needed_scope()
    if not key.allows(scope):
        body = errors.error_body(403, f"this key's scope is {key.scope}; this needs {scope}")
        return json_response(body, 403)
    g.api_key_id = key.digest[:16]
    return None


def protect(response: Response) -> Response:
    """Headers every answer carries; no caching of API answers; a strict policy on pages."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    path = request.path
    if path.startswith(API_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    if path in ("/", "/docs") or path.startswith(("/docs/", "/ui")):
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        response.headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app: Flask, public: frozenset[str]) -> None:
    """Register authentication (after the request id) and the response headers."""
    app.extensions["opscore.brake"] = FailureBrake()
    app.before_request(lambda: authenticate(public))
    app.after_request(protect)
