"""`/v1/integrations/agentkit/events`: AgentKit's signed registration webhook."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import ValidationError

from ...push.agentkit import AgentKitEvent, AgentKitEventType
from ..http import core, json_response
from ..push_schemas import AgentKitEventSchema, RegisteredAgentSchema
from ..smorest import Blueprint, parse_json_body
from ._docs import WITH_BODY, errors
from .agents import present

blp = Blueprint(
    "integrations",
    __name__,
    url_prefix="/v1/integrations",
    description="Integrations: AgentKit's registration webhook.",
)
SIGNED = [
    {
        "name": header,
        "in": "header",
        "required": True,
        "schema": {"type": "string", "maxLength": 200},
        "description": text,
    }
    for header, text in (
        ("X-AgentKit-Timestamp", "Unix seconds; within 5 minutes of the service's clock."),
        (
            "X-AgentKit-Signature",
            '`sha256=` and the hex HMAC-SHA256 of `timestamp + "." + body`, keyed by '
            "OPSCORE_AGENTKIT_SECRET.",
        ),
    )
]


@blp.route("/agentkit/events")
class AgentKitEvents(MethodView):
    @blp.doc(
        parameters=SIGNED,
        requestBody={"content": {"application/json": {"schema": AgentKitEventSchema}}},
    )
    @blp.response(201, RegisteredAgentSchema, description="REGISTER: the agent registered.")
    @blp.alt_response(204, description="DEREGISTER: the agent is gone.")
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self) -> Any:
        """Receive AgentKit's REGISTER or DEREGISTER webhook

        401, changing nothing, when the signature is missing or wrong, the timestamp is
        more than 5 minutes off, or the same signed request came before (a replay).
        """
        body = request.get_data(cache=True)
        signature = request.headers.get("X-AgentKit-Signature")
        core().agentkit.authenticate(body, request.headers.get("X-AgentKit-Timestamp"), signature)
        event = _event(parse_json_body(body))
        agent, secret = core().agentkit.apply(event, signature or "")
        if agent is None:
            return json_response(None, 204)
        shown = present(agent)
        if secret is not None:
            shown.update(endpoint=event.endpoint, push_secret=secret)
        return json_response(shown, 201, {"ETag": agent.etag})


def _event(data: Any) -> AgentKitEvent:
    """The webhook's body read (422 naming what is wrong with it)."""
    try:
        loaded = AgentKitEventSchema().load(data)
    except ValidationError as error:
        abort(422, message="the AgentKit event is not valid", errors={"json": error.messages})
    agent = loaded["agent"]
    return AgentKitEvent(
        AgentKitEventType(loaded["type"]),
        agent["id"],
        agent.get("name"),
        agent["capabilities"],
        agent["metadata"],
        agent.get("endpoint"),
    )
