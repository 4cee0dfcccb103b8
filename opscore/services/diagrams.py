"""Mermaid diagrams of live instances: their pinned machine, where they are and have been."""

from __future__ import annotations

from collections.abc import Iterable

from ..definitions import MachineDefinition
from ..engine.diagram import mermaid
from ..model import Instance, TransitionRecord
from .agents import AgentService
from .runs import RunService


def run_path(run: Instance, history: Iterable[TransitionRecord]) -> tuple[list[str], str | None]:
    """The states a run has been in, in order of first visit, and the step that failed.

    The history is capped, so the steps recorded in the run's context (every step it
    entered) complete what older, dropped records no longer show.
    """
    visited: dict[str, None] = {}
    for record in history:
        visited.update(dict.fromkeys((record.source, record.dest)))
    visited.update(dict.fromkeys(run.context.get("steps", {})))
    visited.pop(run.state, None)
    failed = (run.context.get("error") or {}).get("step")
    return list(visited), failed


class InstanceDiagrams:
    """Draws agents and runs on the machine version each one is pinned to."""

    def __init__(self, agents: AgentService, runs: RunService) -> None:
        self.agents = agents
        self.runs = runs

    def agent(self, agent_id: str) -> str:
        """The agent's machine with its current state highlighted (AgentNotFound otherwise)."""
        agent = self.agents.get(agent_id)
        return mermaid(self._definition(agent), current=agent.state)

    def run(self, run_id: str) -> str:
        """The run's machine with its current state, the path so far and the failed step."""
        run = self.runs.get(run_id)
        history = self.runs.history(run_id, limit=self.runs.lifecycle.store.history_cap)
        visited, failed = run_path(run, history.items)
        return mermaid(self._definition(run), current=run.state, visited=visited, failed=failed)

    def _definition(self, instance: Instance) -> MachineDefinition:
        return self.runs.lifecycle.engine.definition(instance)
