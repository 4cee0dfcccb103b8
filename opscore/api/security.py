"""Who may do what: authentication, scopes, a brake on guessing, and protective headers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app

from ..apikeys import API_KEY_HEADER
from ..clock import Clock
from ..store.brake import FailedKeys
from . import errors
from .clients import brake_key, client_address
from .http import current_application, current_request, json_response, request_globals

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
FORWARDED_FOR = "X-Forwarded-For"


@dataclass(frozen=True)
class FailureBrake:
    """A brake on guessing keys: a client address with more than `limit` failed
    authentications in a window of `window` seconds gets 429 for its failures until the
    window closes. The failures are counted in the store, so every process counts the same
    ones; a valid key is never braked.
    """

    failures: FailedKeys
    clock: Clock
    limit: int = 20
    window: float = 60.0

    def refusal(self, client: str) -> int:
        """Count a failed authentication of `client`: the seconds it must wait, or 0 (a 401).

        A client already past the limit is not counted again: its refusals write nothing.
        """
        now = self.clock.now()
        seen = self.failures.window(client, now, self.window)
        if seen.failures < self.limit:
            seen = self.failures.fail(client, now, self.window)
            if seen.failures <= self.limit:
                return 0
        return max(1, math.ceil(seen.closes(self.window) - now))


def presented_key() -> str | None:
    """The key sent as `X-API-Key`, or as `Authorization: Bearer <key>` (for scrapers)."""
    headers = current_request().headers
    key = headers.get(API_KEY_HEADER)
    if key is None:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    return key


def needed_scope() -> str:
    """The scope the current request needs."""
    request = current_request()
    if request.method in READ_METHODS:
        return "read"
    if request.method == "DELETE" or request.endpoint in ADMIN_ENDPOINTS:
        return "admin"
    return "write"


def authenticate(public: frozenset[str]) -> Any:
    """Require a key with the right scope on everything but the public endpoints.

    A path no route matches answers its 404 (or 405) without a key: it holds no data.
    """
    request = current_request()
    if request.endpoint in public or request.url_rule is None:
        return None
    key = current_application().extensions["opscore.keys"].identify(presented_key())
    if key is None:
        return refuse_key()
    scope = needed_scope()
    if not key.allows(scope):
        body = errors.error_body(403, f"this key's scope is {key.scope}; this needs {scope}")
        return json_response(body, 403)
    request_globals().api_key_id = key.digest[:16]
    return None


def requesting_client() -> str:
    """The address of the client of this request, seen through the trusted proxies."""
    trusted = current_application().extensions["opscore.trusted_proxies"]
    request = current_request()
    forwarded = request.headers.getlist(FORWARDED_FOR)
    return client_address(request.remote_addr, forwarded, trusted)


def refuse_key() -> Response:
    """The answer to a failed authentication: 401, or 429 once its client is braked."""
    brake: FailureBrake = current_app.extensions["opscore.brake"]
    wait = brake.refusal(brake_key(requesting_client()))
    if wait:
        body = errors.error_body(429, "too many failed authentications; wait before retrying")
        return json_response(body, 429, {"Retry-After": str(wait)})
    body = errors.error_body(401, f"a valid {API_KEY_HEADER} header is required")
    return json_response(body, 401, {"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})


def protect(response: Response) -> Response:
    """Headers every answer carries; no caching of API answers; a strict policy on pages."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    path = current_request().path
    if path.startswith(API_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    if path in ("/", "/docs") or path.startswith(("/docs/", "/ui")):
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        response.headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app: Flask, public: frozenset[str]) -> None:
    """Register authentication (after the request id) and the response headers."""
    core, settings = app.extensions["opscore"], app.extensions["opscore.settings"]
    app.extensions["opscore.brake"] = FailureBrake(core.store.failed_keys, core.clock)
    app.extensions["opscore.trusted_proxies"] = settings.trusted_proxy_networks
    app.before_request(lambda: authenticate(public))
    app.after_request(protect)
