"""Workflow runs as callers see them: start, inspect, list, draw, cancel, redrive, upgrade,
and the reports agents send for the steps handed to them.

Every change goes through the ledger, which commits it with its history record and the
work that follows in one step (see `ledger.py`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from jsonschema import validators

from ..definitions import MachineDefinition
from ..definitions.workflow.template import TERMINAL_STATES, WorkflowTemplate
from ..engine.flow_diagram import draw
from ..errors import (
    AgentEnded,
    InvalidRequest,
    MachineNotFound,
    StepNotWaiting,
    WorkflowNotFound,
)
from ..model import Instance, Page, Query, TransitionRecord
from ..services.agents import AgentService
from ..services.idempotency import IdempotentRequest
from ..services.lifecycle import Fired, Lifecycle, LinkedEvent, new_id
from ..services.validation import check_json, check_json_object
from ..store.work import WorkItem, WorkKind
from .diagram import draw_run
from .ledger import KIND, RunLedger, bound_event
from .paths import top_level
from .planner import Planner, RunPlan
from .state import ParentRef, RunState, StepRecord, StepStatus
from .upgrades import upgraded


class RunService:
    """Runs of workflow templates: what API and CLI callers ask of them."""

    kind = KIND

    def __init__(
        self,
        lifecycle: Lifecycle,
        agents: AgentService,
        ledger: RunLedger,
        planner: Planner,
    ) -> None:
        self.lifecycle = lifecycle
        self.agents = agents
        self.ledger = ledger
        self.planner = planner
        self._validators: dict[str, Any] = {}

    @classmethod
    def build(
        cls, lifecycle: Lifecycle, agents: AgentService, rng: random.Random | None = None
    ) -> RunService:
        """The service with its own ledger and planner."""
        ledger = RunLedger(lifecycle, agents)
        rng = rng or random.Random()  # noqa: S311 - retry jitter, not security
        return cls(lifecycle, agents, ledger, Planner(ledger.template, lifecycle.clock, rng))

    def template(self, run: Instance) -> WorkflowTemplate:
        """The template version the run is pinned to."""
        return self.ledger.template(run)

    def workflow(self, name: str, version: int | None = None) -> MachineDefinition:
        """The workflow definition `name` (WorkflowNotFound unless it is a workflow)."""
        try:
            definition = self.lifecycle.engine.definitions.get(name, version)
        except MachineNotFound:
            raise WorkflowNotFound(name, version) from None
        if definition.kind != "workflow":
            raise WorkflowNotFound(name, version)
        return definition

    def start(
        self,
        workflow: str,
        input_data: Mapping[str, Any] | None = None,
        *,
        agent_id: str | None = None,
        idempotency: IdempotentRequest | None = None,
    ) -> Instance:
        """Validate the input, pin the latest template version and queue the first step."""
        definition = self.workflow(workflow)
        template = definition.workflow
        input_data = check_json_object(input_data, "input", self.lifecycle.limits)
        self._check_input(definition, input_data)
        if agent_id is not None:
            self._check_agent(agent_id)
        elif template.needs_agent:
            raise InvalidRequest(
                f"workflow '{workflow}' acts on the run's agent: start it with agent_id",
                "agent_id",
            )
        run_id = new_id()
        return self._create(
            definition,
            RunState(input_data),
            run_id,
            agent_id=agent_id,
            idempotency=idempotency,
            linked=self._bound_start(run_id, agent_id, template),
        )

    def start_child(
        self, parent: Instance, path: str, record: StepRecord, workflow: str | None
    ) -> Instance:
        """Start the child run a workflow step's attempt waits for, under the id it chose.

        Raises WorkflowNotFound or InvalidRequest (its input, or a template that needs an
        agent: a child run has none), and AlreadyExists when it was started before.
        """
        definition = self.workflow(workflow or "")
        input_data = check_json_object(record.request, "input", self.lifecycle.limits)
        self._check_input(definition, input_data)
        if definition.workflow.needs_agent:
            raise InvalidRequest(f"workflow '{workflow}' acts on the run's agent; a child has none")
        state = RunState(input_data, parent=ParentRef(parent.id, path, record.attempt))
        return self._create(definition, state, record.child or new_id())

    def _create(
        self,
        definition: MachineDefinition,
        state: RunState,
        run_id: str,
        *,
        agent_id: str | None = None,
        idempotency: IdempotentRequest | None = None,
        linked: tuple[LinkedEvent, ...] = (),
    ) -> Instance:
        """Store a new run at its first step, with that step's work and the run's timeout."""
        template = definition.workflow
        state, first = self.planner.first(run_id, state, template.start)
        work = [first]
        if template.timeout:
            due = self.lifecycle.clock.now() + template.timeout
            work.append(WorkItem(WorkKind.RUN_TIMEOUT, run_id, due=due))
        return self.lifecycle.create(
            KIND,
            definition.name,
            instance_id=run_id,
            agent_id=agent_id,
            context=state.to_json(),
            idempotency=idempotency,
            work=lambda _: work,
            linked=linked,
        )

    def get(self, run_id: str) -> Instance:
        """The run (RunNotFound otherwise)."""
        return self.ledger.get(run_id)

    def state(self, run: Instance) -> RunState:
        """The run's typed state: its steps with their attempts, its output or error."""
        return self.ledger.state(run)

    def list(self, query: Query | None = None) -> Page[Instance]:
        """Runs matching the query's workflow (machine), state and agent filters."""
        return self.lifecycle.find(KIND, query or Query())

    def history(
        self, run_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """The run's transitions, oldest first."""
        return self.lifecycle.history(KIND, run_id, since_seq, offset, limit)

    def diagram(self, run_id: str) -> str:
        """The run's workflow with its current state, the path so far and the failed step."""
        run = self.ledger.get(run_id)
        history = self.history(run_id, limit=self.lifecycle.store.history_cap)
        return draw_run(run, self.template(run), self.ledger.state(run), history.items)

    def diagram_of_template(self, name: str, version: int | None = None) -> str:
        """A workflow template's flow (its latest version unless `version` is given)."""
        return draw(self.workflow(name, version).workflow)

    def tasks_for_agent(self, agent_id: str, offset: int = 0, limit: int = 50) -> Page[Instance]:
        """Runs whose current step waits for this agent's report."""
        self.agents.get(agent_id)
        return self.lifecycle.find(KIND, Query(waiting_for=agent_id, offset=offset, limit=limit))

    def cancel(self, run_id: str, idempotency: IdempotentRequest | None = None) -> Fired:
        """Stop a run that has not finished; its current attempt is recorded as cancelled."""
        return self.ledger.commit(run_id, self.planner.cancelled, idempotency)

    def redrive(self, run_id: str, idempotency: IdempotentRequest | None = None) -> Fired:
        """Restart a failed run at the step that failed; finished steps keep their outputs."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            return self.planner.redriven(run, state, self.lifecycle.allowed_events(run))

        return self.ledger.commit(run_id, plan, idempotency)

    def upgrade(
        self,
        run_id: str,
        version: int,
        states: Mapping[str, str],
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """Move a run none of whose steps runs (or a failed one) to a newer version of its
        workflow, its steps renamed per `states`; its next steps come from that version."""
        definitions = self.lifecycle.engine.definitions

        def plan(run: Instance, state: RunState) -> RunPlan:
            now = self.lifecycle.clock.now()
            return upgraded(run, state, definitions, version, states, now)

        return self.ledger.commit(run_id, plan, idempotency)

    def complete_step(
        self, run_id: str, step: str, output: Any, idempotency: IdempotentRequest | None = None
    ) -> Fired:
        """An agent reports its step done with `output` (409 unless the step waits for it)."""
        output = check_json(output, "output", self.lifecycle.limits)

        def plan(run: Instance, state: RunState) -> RunPlan:
            self._waiting(run, state, step)
            return self.planner.succeeded(run, state, step, output)

        return self.ledger.commit(run_id, plan, idempotency)

    def fail_step(
        self,
        run_id: str,
        step: str,
        error: str,
        message: str,
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """An agent reports its step failed; the template's retriers and catchers apply."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            self._waiting(run, state, step)
            return self.planner.failed(run, state, step, error, message)

        return self.ledger.commit(run_id, plan, idempotency)

    def fail_run(self, run_id: str, error: str, message: str) -> Fired | None:
        """Fail the whole run unless it has ended (its timeout; its agent refused to start)."""

        def plan(run: Instance, state: RunState) -> RunPlan | None:
            if run.state in TERMINAL_STATES:
                return None
            return self.planner.run_failed(run, state, error, message)

        return self.ledger.commit(run_id, plan)

    @staticmethod
    def _waiting(run: Instance, state: RunState, step: str) -> None:
        """StepNotWaiting unless the step at `step` (a path inside branches too) waits for an
        agent's report in the run's current step."""
        record = state.step(step) if run.state == top_level(step) else None
        if record is None or record.status != StepStatus.WAITING or record.agent_id is None:
            raise StepNotWaiting(run.id, step, record.status if record and record.active else None)

    def _check_input(self, definition: MachineDefinition, input_data: Mapping[str, Any]) -> None:
        schema = definition.workflow.input_schema
        if schema is None:
            return
        validator = self._validators.get(definition.content_hash)
        if validator is None:
            validator = self._validators[definition.content_hash] = validators.validator_for(
                schema
            )(schema)
        problems = sorted(validator.iter_errors(input_data), key=lambda e: list(e.path))
        if problems:
            where = "/".join(map(str, problems[0].path)) or "input"
            raise InvalidRequest(
                f"input does not match the workflow's schema at {where}: {problems[0].message}",
                "input",
            )

    def _check_agent(self, agent_id: str) -> None:
        agent = self.agents.get(agent_id)
        if self.lifecycle.is_final(agent):
            raise AgentEnded(agent_id, agent.state)

    @staticmethod
    def _bound_start(
        run_id: str, agent_id: str | None, template: WorkflowTemplate
    ) -> tuple[LinkedEvent, ...]:
        """The bound agent's `on_start`, in the run's creating commit: refused, no run."""
        if agent_id is None or not template.agent.on_start:
            return ()
        return (bound_event(run_id, agent_id, template.agent.on_start, required=True),)
