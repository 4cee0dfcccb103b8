"""`/v1/agents`: register agents, fire their lifecycle events, read their history."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.views import MethodView

from ...model import Instance, Query
from ...services.lifecycle import Fired
from .. import presenters
from ..http import core, if_match, json_response, offset_limit, text_response
from ..idempotency import idempotency_for, idempotent
from ..schemas import (
    AgentCreateSchema,
    AgentEventResultSchema,
    AgentQuerySchema,
    AgentSchema,
    EventSchema,
    HistoryQuerySchema,
    TransitionSchema,
    UpgradeSchema,
)
from ..smorest import Blueprint
from ._docs import (
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LOCATION,
    MERMAID_TEXT,
    WITH_BODY,
    errors,
    link,
    links,
)

blp = Blueprint(
    "agents",
    __name__,
    url_prefix="/v1/agents",
    description="Agents: registration, lifecycle events and history.",
)
AGENT_ID = {"agent_id": "$response.body#/id"}
REGISTERED = links(
    201,
    GetAgent=link("/v1/agents/{agent_id}", "get", "The agent just registered.", **AGENT_ID),
    GetAgentHistory=link("/v1/agents/{agent_id}/history", "get", "Its transitions.", **AGENT_ID),
    FireAgentEvent=link("/v1/agents/{agent_id}/events", "post", "Fire an event on it.", **AGENT_ID),
    OpenSession=link(
        "/v1/agents/{agent_id}/sessions",
        "post",
        "Open a session (of the default machine) for it.",
        body={"machine": "session"},
        **AGENT_ID,
    ),
)


def present(agent: Instance) -> dict[str, Any]:
    """The agent's representation, with the events it may fire now."""
    return presenters.agent(agent, core().agents.allowed_events(agent))


def _created(agent: Instance) -> tuple[int, dict[str, Any], dict[str, str]]:
    location = url_for("agents.Agent", agent_id=agent.id)
    return 201, present(agent), {"Location": location, "ETag": agent.etag}


def _fired(fired: Fired) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"agent": present(fired.instance), "transition": presenters.transition(fired.record)}
    return 200, body, {"ETag": fired.instance.etag}


@blp.route("")
class Agents(MethodView):
    @blp.arguments(AgentQuerySchema, location="query")
    @blp.response(200, AgentSchema(many=True))
    @blp.paginate()
    @errors(blp)
    def get(self, filters: dict, pagination_parameters: Any) -> list[dict]:
        """List agents, filtered by state, machine or capability"""
        offset, limit = offset_limit(pagination_parameters)
        page = core().agents.list(Query(**filters, offset=offset, limit=limit))
        pagination_parameters.item_count = page.total
        return [present(agent) for agent in page.items]

    @idempotent
    @blp.arguments(AgentCreateSchema, required=False)
    @blp.response(201, AgentSchema, headers={**LOCATION, **ETAG})
    @blp.doc(parameters=[IDEMPOTENCY_KEY], **REGISTERED)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict) -> Any:
        """Register an agent

        The agent starts in its machine's initial state. Without `id` one is generated.
        404 when `machine` names no loaded definition.
        """
        agent = core().agents.register(
            agent_id=body.get("id"),
            name=body.get("name"),
            machine=body["machine"],
            capabilities=body["capabilities"],
            metadata=body["metadata"],
            idempotency=idempotency_for(_created),
        )
        status, payload, headers = _created(agent)
        return json_response(payload, status, headers)


@blp.route("/<id:agent_id>")
class Agent(MethodView):
    @blp.response(200, AgentSchema, headers=ETAG)
    @blp.alt_response(304, description="Not modified (If-None-Match matched).")
    @errors(blp, 404)
    def get(self, agent_id: str) -> Any:
        """Get an agent"""
        agent = core().agents.get(agent_id)
        if agent.etag.strip('"') in request.if_none_match:
            return json_response(None, 304, {"ETag": agent.etag})
        return json_response(present(agent), 200, {"ETag": agent.etag})

    @blp.response(204)
    @errors(blp, 404)
    def delete(self, agent_id: str) -> Any:
        """Deregister an agent, with its sessions and history"""
        core().agents.deregister(agent_id)
        return json_response(None, 204)


@blp.route("/<id:agent_id>/events")
class AgentEvents(MethodView):
    @idempotent
    @blp.arguments(EventSchema)
    @blp.response(200, AgentEventResultSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY, IF_MATCH])
    @errors(blp, 404, 409, 412, *WITH_BODY)
    def post(self, body: dict, agent_id: str) -> Any:
        """Fire a lifecycle event on an agent

        409 when the event is not allowed in the agent's state (`errors.allowed_events`
        lists those that are) or its conditions refuse it; 412 when `If-Match` is stale.
        """
        fired = core().agents.fire_event(
            agent_id,
            body["event"],
            body["data"],
            if_match=if_match(),
            idempotency=idempotency_for(_fired),
        )
        status, payload, headers = _fired(fired)
        return json_response(payload, status, headers)


@blp.route("/<id:agent_id>/upgrade")
class AgentUpgrade(MethodView):
    @blp.arguments(UpgradeSchema)
    @blp.response(200, AgentEventResultSchema, headers=ETAG)
    @errors(blp, 404, *WITH_BODY)
    def post(self, body: dict, agent_id: str) -> Any:
        """Move an agent to a newer version of its machine

        Its state keeps its name unless `states` maps it to a new one; 422 with the reason
        (and nothing changed) when the version does not grow, is retired, or a mapped
        state does not exist in it. The move is in the agent's history as `(upgrade)`.
        """
        fired = core().agents.upgrade(agent_id, body["version"], body["states"])
        status, payload, headers = _fired(fired)
        return json_response(payload, status, headers)


@blp.route("/<id:agent_id>/history")
class AgentHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, TransitionSchema(many=True))
    @blp.paginate()
    @errors(blp, 404)
    def get(self, query: dict, agent_id: str, pagination_parameters: Any) -> list[dict]:
        """An agent's transitions, oldest first; `since_seq` follows new ones"""
        offset, limit = offset_limit(pagination_parameters)
        page = core().agents.history(agent_id, query["since_seq"], offset, limit)
        pagination_parameters.item_count = page.total
        return [presenters.transition(record) for record in page.items]


@blp.route("/<id:agent_id>/diagram")
class AgentDiagram(MethodView):
    @blp.response(200, MERMAID_TEXT, content_type="text/plain", description="A Mermaid diagram.")
    @errors(blp, 404)
    def get(self, agent_id: str) -> Any:
        """Draw an agent's machine (the version it is pinned to) with its current state highlighted

        Mermaid `stateDiagram-v2` text; the current state has the class `s_active`.
        """
        return text_response(core().agents.diagram(agent_id))
