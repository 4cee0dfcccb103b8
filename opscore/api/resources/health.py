"""`/health`: a public liveness answer for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from ... import __version__
from ..http import core, json_response
from ..schemas import HealthSchema
from ..smorest import PUBLIC, Blueprint

blp = Blueprint("health", __name__, description="Service health (no API key needed).")


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.doc(**PUBLIC)
    def get(self) -> Any:
        """Service status, version, store kind and number of loaded definitions

        Public (no key). 200 while the service can serve: `status` is `ok`, `store`
        names the backend and `machines` counts the definitions it serves. Load
        balancers and the image's healthcheck call it.
        """
        ops = core()
        body = {
            "status": "ok",
            "version": __version__,
            "store": ops.store.kind,
            "machines": ops.definition_service.count(),
        }
        return json_response(body)
