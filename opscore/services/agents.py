"""Agent lifecycle: register, look up, list, fire events, deregister."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..engine.diagram import mermaid
from ..model import Instance, Page, Query, TransitionRecord
from .idempotency import IdempotentRequest
from .lifecycle import Fired, Lifecycle
from .liveness import Liveness
from .sessions import SessionService
from .upgrades import Upgrades
from .validation import check_capabilities, check_id, check_json_object, check_name

DEFAULT_AGENT_MACHINE = "agent"


class AgentService:
    """Agents as instances of an `agent` machine; closing an agent closes its sessions."""

    kind = "agent"

    def __init__(self, lifecycle: Lifecycle, sessions: SessionService) -> None:
        self.lifecycle = lifecycle
        self.sessions = sessions
        self.liveness = Liveness(lifecycle)

    def register(
        self,
        *,
        agent_id: str | None = None,
        name: str | None = None,
        machine: str = DEFAULT_AGENT_MACHINE,
        capabilities: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        idempotency: IdempotentRequest | None = None,
    ) -> Instance:
        """Register an agent in its machine's initial state; the id is generated unless given."""
        agent = self.lifecycle.create(
            self.kind,
            machine,
            instance_id=check_id(agent_id, "id") if agent_id is not None else None,
            name=check_name(name),
            capabilities=check_capabilities(capabilities),
            metadata=check_json_object(metadata, "metadata", self.lifecycle.limits),
            idempotency=idempotency,
        )
        self.liveness.registered(agent)
        return agent

    def get(self, agent_id: str) -> Instance:
        """The agent (AgentNotFound otherwise)."""
        return self.lifecycle.store.get(self.kind, agent_id)

    def list(self, query: Query | None = None) -> Page[Instance]:
        """Agents matching the query's state, machine and capability filters."""
        return self.lifecycle.find(self.kind, query or Query())

    def deregister(self, agent_id: str) -> None:
        """Remove the agent, its sessions and their histories."""
        self.get(agent_id)
        self.sessions.delete_for_agent(agent_id)
        self.lifecycle.store.delete(self.kind, agent_id)
        self.liveness.forget(agent_id)

    def fire_event(
        self,
        agent_id: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        if_match: Collection[str] | None = None,
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """Fire a lifecycle event; entering a final state closes the agent's open sessions."""
        fired = self.lifecycle.fire(
            self.kind,
            agent_id,
            event,
            check_json_object(data, "data", self.lifecycle.limits),
            if_match=if_match,
            idempotency=idempotency,
        )
        self.close_sessions_if_ended(fired)
        return fired

    def upgrade(
        self,
        agent_id: str,
        version: int,
        states: Mapping[str, str],
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """Move the agent to a newer version of its machine, renamed states mapped
        (InvalidRequest, nothing changed, when a mapped state does not exist there)."""
        upgrades = Upgrades(self.lifecycle)
        fired = upgrades.upgrade(self.kind, agent_id, version, states, idempotency)
        self.close_sessions_if_ended(fired)
        return fired

    def close_sessions_if_ended(self, fired: Fired) -> None:
        """An agent that an event moved into a final state closes its open sessions."""
        if fired.record is not None and self.lifecycle.is_final(fired.instance):
            self.sessions.close_for_agent(fired.instance.id, reason=f"agent {fired.record.event}")

    def history(
        self, agent_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """The agent's kept transition records, oldest first."""
        return self.lifecycle.history(self.kind, agent_id, since_seq, offset, limit)

    def diagram(self, agent_id: str) -> str:
        """The agent's machine with its current state highlighted (AgentNotFound otherwise)."""
        agent = self.get(agent_id)
        return mermaid(self.lifecycle.engine.definition(agent), current=agent.state)

    def allowed_events(self, agent: Instance) -> tuple[str, ...]:
        """The events that may fire from the agent's current state."""
        return self.lifecycle.allowed_events(agent)
