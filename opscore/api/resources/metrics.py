"""`/metrics`: Prometheus' text format (needs a key; scrapers may send it as a bearer token)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from ... import metrics
from ..http import core
from ..smorest import Blueprint
from ._docs import errors

blp = Blueprint("metrics", __name__, description="Prometheus metrics.")


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/plain",
        description="Prometheus text exposition format.",
    )
    @errors(blp)
    def get(self) -> Any:
        """Transitions, rejected events, runs, steps, retries, queue and HTTP metrics

        Prometheus text format. Send the key as `Authorization: Bearer <key>` from
        Prometheus.
        """
        body, content_type = metrics.exposition(core().store.queue)
        return current_app.response_class(body, mimetype=None, content_type=content_type)
