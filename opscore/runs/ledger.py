"""The one place a run's typed state is read from its instance and committed back.

A change of a run goes through `RunLedger.commit`: the lifecycle re-reads the run under
its lock, a planner turns it (and its `RunState`) into a `RunPlan`, and the plan is
committed with its history record and the work that follows in one step. States are
parsed from JSON once per committed revision and kept in a small cache, so the hot path
never parses its own writes again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from loguru import logger

from ..definitions.workflow.template import CANCELLED, FAILED, SUCCEEDED, WorkflowTemplate
from ..errors import OpsCoreError
from ..model import Instance
from ..services.agents import AgentService
from ..services.idempotency import IdempotentRequest
from ..services.lifecycle import Fired, Lifecycle, Plan
from .metrics import observe
from .planner import RunPlan
from .state import RunState

KIND = "run"
CACHED_STATES = 4096

RunPlanner = Callable[[Instance, RunState], RunPlan | None]


class RunLedger:
    """Reads runs with their typed state and commits the plans made for them."""

    def __init__(self, lifecycle: Lifecycle, agents: AgentService) -> None:
        self.lifecycle = lifecycle
        self.agents = agents
        self._states: OrderedDict[tuple[str, int], RunState] = OrderedDict()
        self._lock = Lock()

    def template(self, run: Instance) -> WorkflowTemplate:
        """The template version the run is pinned to."""
        return self.lifecycle.engine.definition(run).workflow

    def get(self, run_id: str) -> Instance:
        """The run (RunNotFound otherwise)."""
        return self.lifecycle.store.get(KIND, run_id)

    def state(self, run: Instance) -> RunState:
        """The run's typed state (parsed once per revision)."""
        key = (run.id, run.revision)
        with self._lock:
            state = self._states.get(key)
        if state is None:
            state = RunState.from_json(run.context)
            self._remember(key, state)
        return state

    def commit(
        self,
        run_id: str,
        planner: RunPlanner,
        idempotency: IdempotentRequest | None = None,
    ) -> Fired | None:
        """Let `planner` decide on the run as it is now and commit its plan (None: no plan)."""
        planned: list[RunState] = []

        def plan(run: Instance) -> Plan | None:
            made = planner(run, self.state(run))
            if made is None:
                return None
            planned[:] = [made.state]
            return Plan(
                made.event,
                made.data,
                made.state.to_json(),
                made.work,
                notes=made.notes,
                waiting_for=made.state.waiting_for(),
            )

        fired = self.lifecycle.transact(KIND, run_id, plan, idempotency)
        if fired is not None:
            self._remember((fired.instance.id, fired.instance.revision), planned[0])
        return self.settled(fired)

    def settled(self, fired: Fired | None) -> Fired | None:
        """After a commit: count what happened; a run that just ended tells its agent."""
        if fired is None:
            return None
        observe(fired, self.state(fired.previous), self.state(fired.instance))
        if fired.record is None or fired.previous.state == fired.instance.state:
            return fired
        binding = self.template(fired.instance).agent
        event = {
            SUCCEEDED: binding.on_success,
            FAILED: binding.on_failure,
            CANCELLED: binding.on_cancel,
        }.get(fired.instance.state)
        if event and fired.instance.agent_id:
            self.agent_event(fired.instance, event)
        return fired

    def agent_event(self, run: Instance, event: str) -> str | None:
        """Fire a bound agent event; returns why it was refused, if it was."""
        try:
            self.agents.fire_event(run.agent_id, event, {"run_id": run.id})
        except OpsCoreError as error:
            logger.warning(
                "run {run_id} could not fire {event} on agent {agent_id}: {error}",
                run_id=run.id,
                event=event,
                agent_id=run.agent_id,
                error=error.message,
            )
            return error.message
        return None

    def _remember(self, key: tuple[str, int], state: RunState) -> None:
        with self._lock:
            self._states[key] = state
            self._states.move_to_end(key)
            while len(self._states) > CACHED_STATES:
                self._states.popitem(last=False)
