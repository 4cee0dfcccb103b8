"""Agent sessions: open them for an agent, fire their events, read their history."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.views import MethodView

from ...model import Instance
from ...services.lifecycle import Fired
from .. import presenters
from ..http import core, if_match, json_response, offset_limit
from ..idempotency import idempotency_for, idempotent
from ..schemas import (
    EventSchema,
    HistoryQuerySchema,
    SessionCreateSchema,
    SessionEventResultSchema,
    SessionQuerySchema,
    SessionSchema,
    TransitionSchema,
)
from ..smorest import Blueprint
from ._docs import ETAG, IDEMPOTENCY_KEY, IF_MATCH, LOCATION, WITH_BODY, errors, link, links

blp = Blueprint(
    "sessions",
    __name__,
    url_prefix="/v1",
    description="Sessions: units of work an agent opens, drives and closes.",
)
SESSION_ID = {"session_id": "$response.body#/id"}
OPENED = links(
    201,
    GetSession=link("/v1/sessions/{session_id}", "get", "The session just opened.", **SESSION_ID),
    GetSessionHistory=link(
        "/v1/sessions/{session_id}/history", "get", "Its transitions.", **SESSION_ID
    ),
    FireSessionEvent=link(
        "/v1/sessions/{session_id}/events", "post", "Fire an event on it.", **SESSION_ID
    ),
)


def present(session: Instance) -> dict[str, Any]:
    """The session's representation, with the events it may fire now."""
    return presenters.session(session, core().sessions.allowed_events(session))


def _created(session: Instance) -> tuple[int, dict[str, Any], dict[str, str]]:
    location = url_for("sessions.Session", session_id=session.id)
    return 201, present(session), {"Location": location, "ETag": session.etag}


def _fired(fired: Fired) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"session": present(fired.instance), "transition": presenters.transition(fired.record)}
    return 200, body, {"ETag": fired.instance.etag}


@blp.route("/agents/<id:agent_id>/sessions")
class AgentSessions(MethodView):
    @blp.arguments(SessionQuerySchema, location="query")
    @blp.response(200, SessionSchema(many=True))
    @blp.paginate()
    @errors(blp, 404)
    def get(self, filters: dict, agent_id: str, pagination_parameters: Any) -> list[dict]:
        """List an agent's sessions, oldest first

        The sessions the agent opened, paged, optionally only those in `state`. 404 when
        there is no such agent.
        """
        offset, limit = offset_limit(pagination_parameters)
        page = core().sessions.list_for_agent(agent_id, offset, limit, filters.get("state"))
        pagination_parameters.item_count = page.total
        return [present(session) for session in page.items]

    @idempotent
    @blp.arguments(SessionCreateSchema, required=False)
    @blp.response(201, SessionSchema, headers={**LOCATION, **ETAG})
    @blp.doc(parameters=[IDEMPOTENCY_KEY], **OPENED)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, agent_id: str) -> Any:
        """Open a session for an agent

        404 when the agent or the `machine` does not exist; 409 when the agent has ended.
        """
        session = core().sessions.open(
            agent_id,
            machine=body["machine"],
            metadata=body["metadata"],
            idempotency=idempotency_for(_created),
        )
        status, payload, headers = _created(session)
        return json_response(payload, status, headers)


@blp.route("/sessions/<id:session_id>")
class Session(MethodView):
    @blp.response(200, SessionSchema, headers=ETAG)
    @blp.alt_response(304, description="Not modified (If-None-Match matched).")
    @errors(blp, 404)
    def get(self, session_id: str) -> Any:
        """Get a session

        The session with the events it may fire now; its `ETag` works as for agents
        (`If-Match`, `If-None-Match`).
        """
        session = core().sessions.get(session_id)
        if session.etag.strip('"') in request.if_none_match:
            return json_response(None, 304, {"ETag": session.etag})
        return json_response(present(session), 200, {"ETag": session.etag})


@blp.route("/sessions/<id:session_id>/events")
class SessionEvents(MethodView):
    @idempotent
    @blp.arguments(EventSchema)
    @blp.response(200, SessionEventResultSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY, IF_MATCH])
    @errors(blp, 404, 409, 412, *WITH_BODY)
    def post(self, body: dict, session_id: str) -> Any:
        """Fire an event on a session

        Moves the session along its machine. 409 when the event is not allowed in its
        state (the answer lists the allowed events), 412 when `If-Match` names an older
        revision. Safe to retry with `Idempotency-Key`.
        """
        fired = core().sessions.fire_event(
            session_id,
            body["event"],
            body["data"],
            if_match=if_match(),
            idempotency=idempotency_for(_fired),
        )
        status, payload, headers = _fired(fired)
        return json_response(payload, status, headers)


@blp.route("/sessions/<id:session_id>/history")
class SessionHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, TransitionSchema(many=True))
    @blp.paginate()
    @errors(blp, 404)
    def get(self, query: dict, session_id: str, pagination_parameters: Any) -> list[dict]:
        """A session's transitions, oldest first; `since_seq` follows new ones

        Every kept transition record of the session with `seq` greater than `since_seq`,
        paged.
        """
        offset, limit = offset_limit(pagination_parameters)
        page = core().sessions.history(session_id, query["since_seq"], offset, limit)
        pagination_parameters.item_count = page.total
        return [presenters.transition(record) for record in page.items]
