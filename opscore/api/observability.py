"""Per-request context: a request id bound to every log line, one access log line (with the
client's address as the failed-key brake sees it), metrics."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from flask import Flask, Response

from .. import metrics
from ..logs import info_fields, request_id
from .http import current_request, request_globals
from .security import requesting_client

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def start_request() -> None:
    """Keep a sane incoming X-Request-ID (else make one) and bind it to the request's logs."""
    incoming = current_request().headers.get(REQUEST_ID_HEADER, "")
    g = request_globals()
    # 32 random hex digits, as a uuid4's hex without its version bits (a fourth of the cost).
    g.request_id = incoming if SANE_REQUEST_ID.match(incoming) else secrets.token_hex(16)
    g.request_started = time.perf_counter()
    g.request_id_token = request_id.set(g.request_id)


def finish_request(response: Response) -> Response:
    """Echo the request id, log one line for the request, count and time it."""
    g = request_globals()
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    request = current_request()
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    method, status, duration_ms = request.method, response.status_code, round(elapsed * 1000, 2)
    metrics.child(metrics.http_requests, route, method, str(status)).inc()
    metrics.child(metrics.http_latency, route, method).observe(elapsed)
    info_fields(
        f"{method} {request.path} {status} {duration_ms}ms",
        {
            "method": method,
            "path": request.path,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "client": requesting_client(),
        },
    )
    return response


def end_request(_error: Any) -> None:
    """Unbind the request id once the request is over."""
    token = request_globals().pop("request_id_token", None)
    if token is not None:
        request_id.reset(token)


def init_app(app: Flask) -> None:
    """Register the hooks; `start_request` runs before every other before-request hook."""
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request(finish_request)
    app.teardown_request(end_request)
