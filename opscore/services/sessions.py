"""Agent sessions: each one an instance of a `session` machine that belongs to an agent."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from loguru import logger

from ..errors import AgentEnded, OpsCoreError
from ..model import Instance, Page, Query, TransitionRecord
from .idempotency import IdempotentRequest
from .lifecycle import Fired, Lifecycle
from .validation import check_json_object

DEFAULT_SESSION_MACHINE = "session"
CLOSE_EVENT = "close"
_PAGE = 500


class SessionService:
    """Open, drive and list sessions; `close` ends them when their agent ends."""

    kind = "session"

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    def open(
        self,
        agent_id: str,
        *,
        machine: str = DEFAULT_SESSION_MACHINE,
        metadata: Mapping[str, Any] | None = None,
        idempotency: IdempotentRequest | None = None,
    ) -> Instance:
        """Open a session for an agent that has not ended."""
        agent = self.lifecycle.store.get("agent", agent_id)
        if self.lifecycle.is_final(agent):
            raise AgentEnded(agent_id, agent.state)
        return self.lifecycle.create(
            self.kind,
            machine,
            agent_id=agent_id,
            metadata=check_json_object(metadata, "metadata", self.lifecycle.limits),
            idempotency=idempotency,
        )

    def get(self, session_id: str) -> Instance:
        """The session (SessionNotFound otherwise)."""
        return self.lifecycle.store.get(self.kind, session_id)

    def list_for_agent(
        self, agent_id: str, offset: int = 0, limit: int = 50, state: str | None = None
    ) -> Page[Instance]:
        """The agent's sessions, oldest first."""
        self.lifecycle.store.get("agent", agent_id)
        query = Query(agent_id=agent_id, state=state, offset=offset, limit=limit)
        return self.lifecycle.find(self.kind, query)

    def fire_event(
        self,
        session_id: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        if_match: Collection[str] | None = None,
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """Fire a session event."""
        return self.lifecycle.fire(
            self.kind,
            session_id,
            event,
            check_json_object(data, "data", self.lifecycle.limits),
            if_match=if_match,
            idempotency=idempotency,
        )

    def history(
        self, session_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """The session's kept transition records, oldest first."""
        return self.lifecycle.history(self.kind, session_id, since_seq, offset, limit)

    def allowed_events(self, session: Instance) -> tuple[str, ...]:
        """The events that may fire from the session's current state."""
        return self.lifecycle.allowed_events(session)

    def close_for_agent(self, agent_id: str, reason: str) -> int:
        """Fire `close` on every open session of the agent; returns how many closed."""
        closed = 0
        for session in self._all_for_agent(agent_id):
            if self.lifecycle.is_final(session):
                continue
            try:
                self.fire_event(session.id, CLOSE_EVENT, {"reason": reason})
                closed += 1
            except OpsCoreError as error:
                # A session closed (or deleted) concurrently is not a failure of the agent's event.
                logger.warning(
                    "session {session_id} not closed: {error}",
                    session_id=session.id,
                    agent_id=agent_id,
                    error=error.message,
                )
        return closed

    def delete_for_agent(self, agent_id: str) -> None:
        """Remove every session of the agent with its history."""
        for session in self._all_for_agent(agent_id):
            self.lifecycle.store.delete(self.kind, session.id)

    def _all_for_agent(self, agent_id: str) -> list[Instance]:
        sessions, offset = [], 0
        while True:
            page = self.lifecycle.find(
                self.kind, Query(agent_id=agent_id, offset=offset, limit=_PAGE)
            )
            sessions += page.items
            offset += _PAGE
            if offset >= page.total:
                return sessions
