"""`/v1/deliveries`: tasks pushed to agents' endpoints, and those that could not be."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from ...store.push import Delivery, DeliveryStatus
from ..http import core, page_of
from ..presenters import timestamp
from ..push_schemas import DeliveryQuerySchema, DeliverySchema
from ..smorest import Blueprint
from ._docs import errors

blp = Blueprint(
    "deliveries",
    __name__,
    url_prefix="/v1/deliveries",
    description="Deliveries: tasks pushed to agents' endpoints.",
)
LISTED = 1000  # deliveries a listing looks at, most recently changed first


@blp.route("")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate()
    @errors(blp)
    def get(self, query: dict, pagination_parameters: Any) -> list[dict]:
        """List pushes of tasks to agents, most recently changed first

        `status=undeliverable`: the tasks whose attempts ran out, or whose endpoint may
        not be called.
        """
        status = query.get("status")
        found = core().push.deliveries(DeliveryStatus(status) if status else None, LISTED)
        return [_shown(d) for d in page_of(found, pagination_parameters)]


def _shown(delivery: Delivery) -> dict[str, Any]:
    shown = asdict(delivery)
    shown.update(status=str(delivery.status), updated_at=timestamp(delivery.updated_at))
    return shown
