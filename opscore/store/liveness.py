"""Agent heartbeats: when each agent was last seen, and when its silence becomes a miss.

They live with the store, apart from the agents' rows, so a heartbeat is one small write
that never bumps an agent's revision, and every process sees the same `last_seen`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Beat:
    """An agent's latest heartbeat. `due` is when silence since `last_seen` becomes a missed
    heartbeat (None: its machine watches none); `missed` is the `last_seen` of the silence
    already reported, so each silence is reported once."""

    agent_id: str
    last_seen: float
    due: float | None = None
    missed: float | None = None

    @property
    def reported(self) -> bool:
        """Whether this silence was already reported."""
        return self.missed is not None and self.missed >= self.last_seen


class Heartbeats(Protocol):
    """What the liveness service needs of the store."""

    def beat(self, agent_id: str, at: float, due: float | None) -> Beat:
        """Record that the agent was seen `at` (an older time than the stored one keeps it)."""
        ...

    def seen(self, agent_ids: Iterable[str]) -> dict[str, Beat]:
        """The beats of those agents that have one."""
        ...

    def overdue(self, now: float, limit: int) -> list[Beat]:
        """Unreported beats whose `due` has come, earliest first."""
        ...

    def reported(self, agent_id: str, last_seen: float) -> None:
        """The silence since `last_seen` has been dealt with."""
        ...

    def forget(self, agent_id: str) -> None:
        """The agent is gone."""
        ...
