"""Agent heartbeats: when each agent was last seen, and when its silence becomes a miss.

Every call that proves an agent alive (its heartbeat, a task claim or task heartbeat)
records `last_seen`; for a machine that declares `heartbeat: {every, missed}`, its
registration counts as the first. `opscore.runs.liveness.Sweeper` reports the silences.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import AgentEnded
from ..model import Instance
from ..store.liveness import Beat
from .lifecycle import Lifecycle

KIND = "agent"


class Liveness:
    """Records heartbeats: when each agent was last seen, and when its next miss is due."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.heartbeats = lifecycle.store.heartbeats
        self.clock = lifecycle.clock

    def beat(self, agent_id: str) -> Beat:
        """The agent is alive now (AgentNotFound, or AgentEnded once it is final)."""
        agent = self.lifecycle.store.get(KIND, agent_id)
        if self.lifecycle.is_final(agent):
            raise AgentEnded(agent_id, agent.state)
        return self.seen_now(agent)

    def seen_now(self, agent: Instance) -> Beat:
        """Record that `agent` was seen now; its next miss is due one `every` later."""
        now = self.clock.now()
        spec = self.lifecycle.engine.definition(agent).heartbeat
        return self.heartbeats.beat(agent.id, now, now + spec.every if spec else None)

    def seen(self, agent_ids: Iterable[str]) -> dict[str, Beat]:
        """The latest beat of each of these agents that has one."""
        return self.heartbeats.seen(agent_ids)

    def registered(self, agent: Instance) -> None:
        """A new agent on a machine that watches heartbeats is seen at its registration."""
        spec = self.lifecycle.engine.definition(agent).heartbeat
        if spec is not None:
            self.heartbeats.beat(agent.id, agent.created_at, agent.created_at + spec.every)

    def forget(self, agent_id: str) -> None:
        """The agent is gone."""
        self.heartbeats.forget(agent_id)
