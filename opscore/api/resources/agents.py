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
from ..push_schemas import RegisteredAgentSchema
from ..schemas import (
    AgentCreateSchema,
    AgentEventResultSchema,
    AgentQuerySchema,
    AgentSchema,
    EventSchema,
    ExplanationSchema,
    HeartbeatSchema,
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
    return present_all([agent])[0]


def present_all(agents: list[Instance]) -> list[dict[str, Any]]:
    """Agents' representations, their heartbeats read in one go."""
    service = core().agents
    beats = service.liveness.seen(agent.id for agent in agents)
    return [
        presenters.agent(agent, service.allowed_events(agent), beats.get(agent.id))
        for agent in agents
    ]


def _created(
    agent: Instance, endpoint: str | None = None, secret: str | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    location = url_for("agents.Agent", agent_id=agent.id)
    shown = present(agent)
    if secret is not None:  # push to agents: the secret is shown in this answer only
        shown.update(endpoint=endpoint, push_secret=secret)
    return 201, shown, {"Location": location, "ETag": agent.etag}


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
        """List agents, filtered by state, machine or capability

        Oldest first, one page at a time (`page`, `page_size`; the `X-Pagination` header
        says where the page sits). Filters combine: `state`, `machine` and `capability`
        must all match.
        """
        offset, limit = offset_limit(pagination_parameters)
        page = core().agents.list(Query(**filters, offset=offset, limit=limit))
        pagination_parameters.item_count = page.total
        return present_all(page.items)

    @idempotent
    @blp.arguments(AgentCreateSchema, required=False)
    @blp.response(201, RegisteredAgentSchema, headers={**LOCATION, **ETAG})
    @blp.doc(parameters=[IDEMPOTENCY_KEY], **REGISTERED)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict) -> Any:
        """Register an agent

        The agent starts in its machine's initial state. Without `id` one is generated.
        404 when `machine` names no loaded definition. With an `endpoint`, the agent's tasks
        are pushed there, signed with the `push_secret` this answer alone shows.
        """
        endpoint = body.get("endpoint")

        def register(secret: str | None) -> Instance:
            return core().agents.register(
                agent_id=body.get("id"),
                name=body.get("name"),
                machine=body["machine"],
                capabilities=body["capabilities"],
                metadata=body["metadata"],
                idempotency=idempotency_for(lambda agent: _created(agent, endpoint, secret)),
            )

        agent, secret = core().push.register(endpoint, register)
        status, payload, headers = _created(agent, endpoint, secret)
        return json_response(payload, status, headers)


@blp.route("/<id:agent_id>")
class Agent(MethodView):
    @blp.response(200, AgentSchema, headers=ETAG)
    @blp.alt_response(304, description="Not modified (If-None-Match matched).")
    @errors(blp, 404)
    def get(self, agent_id: str) -> Any:
        """Get an agent

        The agent with the events it may fire in its current state. The `ETag` header is
        its revision: send it as `If-Match` to fire an event only if nothing changed
        since, or as `If-None-Match` for a 304.
        """
        agent = core().agents.get(agent_id)
        if agent.etag.strip('"') in request.if_none_match:
            return json_response(None, 304, {"ETag": agent.etag})
        shown = present(agent)
        endpoint = core().push.endpoint_of(agent.id)
        if endpoint is not None:
            shown["endpoint"] = endpoint
        return json_response(shown, 200, {"ETag": agent.etag})

    @blp.response(204)
    @errors(blp, 404)
    def delete(self, agent_id: str) -> Any:
        """Deregister an agent, with its sessions and history

        Needs an `admin` key. 204 when deleted; 404 when there is no such agent.
        """
        core().agents.deregister(agent_id)
        core().push.forget(agent_id)
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


@blp.route("/<id:agent_id>/heartbeat")
class AgentHeartbeat(MethodView):
    @blp.response(200, HeartbeatSchema)
    @errors(blp, 404, 409)
    def post(self, agent_id: str) -> Any:
        """Tell the service an agent is alive

        Records `last_seen` (a task claim or task heartbeat counts too). On a machine that
        declares `heartbeat: {every, missed}`, an agent silent for `every` gets its
        `missed` event once and its tasks go back to the queue. 409 once it is final.
        """
        return presenters.heartbeat(core().agents.liveness.beat(agent_id))


@blp.route("/<id:agent_id>/explain")
class AgentExplain(MethodView):
    @blp.response(200, ExplanationSchema)
    @errors(blp, 404)
    def get(self, agent_id: str) -> Any:
        """Say why an agent is not progressing

        The tasks it holds (with their leases), the tasks waiting for an agent with its
        capabilities, and how long it has been silent when its machine watches heartbeats.
        """
        return presenters.explanation(core().explainer.agent(agent_id))


@blp.route("/<id:agent_id>/upgrade")
class AgentUpgrade(MethodView):
    @idempotent
    @blp.arguments(UpgradeSchema)
    @blp.response(200, AgentEventResultSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @errors(blp, 404, *WITH_BODY)
    def post(self, body: dict, agent_id: str) -> Any:
        """Move an agent to a newer version of its machine

        Its state keeps its name unless `states` maps it to a new one; 422 with the reason
        (and nothing changed) when the version does not grow, is retired, or a mapped
        state does not exist in it. The move is in the agent's history as `(upgrade)`.
        Safe to retry with `Idempotency-Key`.
        """
        fired = core().agents.upgrade(
            agent_id, body["version"], body["states"], idempotency=idempotency_for(_fired)
        )
        status, payload, headers = _fired(fired)
        return json_response(payload, status, headers)


@blp.route("/<id:agent_id>/history")
class AgentHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, TransitionSchema(many=True))
    @blp.paginate()
    @errors(blp, 404)
    def get(self, query: dict, agent_id: str, pagination_parameters: Any) -> list[dict]:
        """An agent's transitions, oldest first; `since_seq` follows new ones

        Every kept transition record of the agent with `seq` greater than `since_seq`,
        paged. Poll with the last `seq` seen to follow new ones, or use the event
        stream.
        """
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
