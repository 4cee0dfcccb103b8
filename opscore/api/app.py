"""`create_app(config)`: the one place the service is wired together."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from inspect import iscoroutinefunction
from typing import Any

from flask import Flask, Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge

from .. import __version__
from ..apikeys import KeyRing
from ..config import Settings
from ..core import OpsCore
from ..logs import configure_logging
from . import errors, observability, paths, security, traces
from .http import current_request, json_response
from .resources import (
    agents,
    deliveries,
    docs,
    events,
    health,
    index,
    integrations,
    machines,
    metrics,
    runs,
    sessions,
    tasks,
    workflows,
)
from .smorest import BEARER_SCHEME, SECURITY_SCHEME, Api, JsonParser
from .ui import PUBLIC_ENDPOINTS as UI_ENDPOINTS
from .ui import blp as ui_blueprint

PUBLIC_ENDPOINTS = frozenset(
    {
        "health.Health",
        "api-docs.openapi_json",
        "docs.page",
        "docs.asset",
        "index.index",
        *UI_ENDPOINTS,
    }
)
BODY_TYPES = {
    "machines.MachineValidation": machines.DEFINITION_TYPES,
    "machines.Machine": machines.DEFINITION_TYPES,  # PUT: a definition, YAML or JSON
}
JSON_TYPES = ("application/json",)


# Functions whose kind (coroutine or not) OpsCoreFlask remembers; past it, it asks again.
REMEMBERED_FUNCTIONS = 1024


class OpsCoreFlask(Flask):
    """Flask, answering OPTIONS with the methods of the matched route only, and asking
    once per function whether it is a coroutine function.

    `/v1/machines/validate` (POST) also matches `/v1/machines/<name>` (GET); werkzeug
    would advertise both, though `validate` is only ever the POST operation.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine_functions: dict[Callable[..., Any], bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, with each function's kind remembered: Flask asks it of every hook,
        view and handler of every request (18 `inspect` checks for one event)."""
        # A class-based view's method is bound anew each request: remember its function.
        key = getattr(func, "__func__", func)
        known = self._coroutine_functions.get(key)
        if known is None:
            known = iscoroutinefunction(func)
            if len(self._coroutine_functions) < REMEMBERED_FUNCTIONS:
                self._coroutine_functions[key] = known
        return self.async_to_sync(func) if known else func

    def make_default_options_response(self) -> Any:
        response = self.response_class()
        rule = current_request().url_rule
        response.allow.update(rule.methods if rule else ())
        return response


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    core: OpsCore | None = None,
) -> Flask:
    """Build the service from settings (or `OPSCORE_*` variables plus `config` overrides).

    Raises DefinitionError naming every invalid definition, and ConfigError when keys
    are missing on a non-loopback address: the service refuses to start.
    """
    settings = config if isinstance(config, Settings) else Settings.from_env(**(config or {}))
    keys = KeyRing.from_settings(settings)
    configure_logging(settings.log_level, settings.log_format)
    ops = core or OpsCore.from_settings(settings)

    app = OpsCoreFlask("opscore")
    app.config.update(
        DEBUG=False,
        TESTING=False,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="Ops-Core",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "security": [{SECURITY_SCHEME: []}, {BEARER_SCHEME: []}],
            "info": {"description": "Run fleets of AI agents as explicit state machines."},
        },
    )
    app.json.sort_keys = False  # keep the field order of the representations
    app.extensions.update(
        {
            "opscore": ops,
            "opscore.keys": keys,
            "opscore.settings": settings,
            "opscore.streams": threading.BoundedSemaphore(settings.max_streams),
            "opscore.stopping": threading.Event(),  # set on shutdown: live streams end
        }
    )
    api = app.extensions["opscore.api"] = Api(app)
    paths.register_converters(app, api)
    blueprints = (health, agents, sessions, machines, workflows, runs, tasks, events, metrics)
    blueprints += (deliveries, integrations)  # push to agents, AgentKit (docs/push.md)
    for blueprint in (module.blp for module in blueprints):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)
    app.register_blueprint(index.blp)
    app.register_blueprint(ui_blueprint)
    errors.init_app(app)
    observability.init_app(app)
    traces.init_app(app)
    security.init_app(app, PUBLIC_ENDPOINTS)
    app.before_request(require_supported_body)
    app.before_request(reject_oversized_streamed_body)
    app.before_request(reject_unknown_query_parameters)
    app.before_request(paths.reject_malformed_path_parameters)
    return app


def require_supported_body() -> Any:
    """A body of a type the endpoint does not read is a 415, not a confusing 422."""
    request = current_request()
    if request.url_rule is None or request.method not in ("POST", "PUT", "PATCH"):
        return None  # routing failed: the 404 or 405 says more than a 415 would
    if not _has_body(request):
        return None
    accepted = BODY_TYPES.get(request.endpoint, JSON_TYPES)
    mimetype = request.mimetype
    if mimetype in accepted or (accepted is JSON_TYPES and JsonParser.is_json_request(request)):
        return None
    message = f"Content-Type must be one of: {', '.join(accepted)}"
    return json_response(errors.error_body(415, message), 415)


def reject_oversized_streamed_body() -> None:
    """A chunked body past the limit is a 413, never silently cut to the limit.

    Werkzeug stops reading a body without Content-Length at `MAX_CONTENT_LENGTH` bytes
    and hands over what it read; reading one byte more tells a body that fits from one
    that does not.
    """
    request = current_request()
    if request.content_length is not None or not _has_body(request):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    request.max_content_length = limit + 1
    if len(request.get_data(cache=True)) > limit:
        raise RequestEntityTooLarge()


def reject_unknown_query_parameters() -> Any:
    """A query parameter the operation does not define is a 422 naming it, not ignored."""
    request = current_request()
    if request.url_rule is None or not request.args:
        return None
    known = _query_parameters().get((request.url_rule.rule, request.method.lower()))
    if known is None:
        return None
    unknown = sorted(set(request.args) - known)
    if not unknown:
        return None
    message = f"unknown query parameter(s): {', '.join(map(repr, unknown))}"
    body = errors.error_body(
        422, message, {"query": {name: ["Unknown field."] for name in unknown}}
    )
    return json_response(body, 422)


def _query_parameters() -> dict[tuple[str, str], frozenset[str]]:
    """(Flask rule, method) -> the query parameters the OpenAPI document declares for it."""
    cached = current_app.extensions.get("opscore.query_parameters")
    if cached is None:
        spec = current_app.extensions["opscore.api"].spec.to_dict()
        cached = {}
        for rule in current_app.url_map.iter_rules():
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method, operation in spec["paths"].get(path, {}).items():
                if method == "parameters":  # path-level parameters sit beside the operations
                    continue
                names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                cached[(rule.rule, method)] = frozenset(names)
        current_app.extensions["opscore.query_parameters"] = cached
    return cached


def _has_body(request: Request) -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
