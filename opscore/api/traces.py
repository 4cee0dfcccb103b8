"""A span per HTTP request (OpenTelemetry, when `opscore.tracing` has traces on)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response

from .. import tracing
from .http import current_request, request_globals

# Path parameters as GenAI semantic-convention attributes (an agent, a session's
# conversation) or ours (a run).
ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
PATH_ATTRIBUTES = {
    "agent_id": "gen_ai.agent.id",
    "session_id": "gen_ai.conversation.id",
    "run_id": "opscore.run.id",
}


def start_span() -> None:
    """Open the request's span, a child of the client's `traceparent` if it sent one."""
    if not tracing.enabled():
        return
    request = current_request()
    rule = request.url_rule.rule if request.url_rule is not None else None
    route = ROUTE_PARAMETER.sub(r"{\1}", rule) if rule else None  # as /openapi.json writes it
    attributes: dict[str, Any] = {
        "http.request.method": request.method,
        "url.path": request.path,
        "http.route": route,
    }
    for name, value in (request.view_args or {}).items():
        if name in PATH_ATTRIBUTES:
            attributes[PATH_ATTRIBUTES[name]] = value
    name = f"{request.method} {route}" if route else request.method
    request_globals().trace_span = tracing.server_span(name, request.headers, attributes)


def note_status(response: Response) -> Response:
    """Remember the answer's status for the span (while traces are on)."""
    if tracing.enabled():
        request_globals().trace_status = response.status_code
    return response


def end_span(_error: Any) -> None:
    """Close the request's span once the request is over."""
    g = request_globals()
    handle = g.pop("trace_span", None)
    if handle is not None:
        tracing.end_server_span(handle, g.get("trace_status"), {})


def init_app(app: Flask) -> None:
    """Register the hooks: the span opens before any other hook runs, so it covers them."""
    if not tracing.enabled() and tracing.wanted_by_environment():
        tracing.configure_tracing()
    app.before_request_funcs.setdefault(None, []).insert(0, start_span)
    app.after_request(note_status)
    app.teardown_request(end_span)
