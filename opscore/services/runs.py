"""Workflow runs: start, inspect, cancel and redrive them; settle their step attempts.

Every change of a run goes through `Lifecycle.transact`, which re-reads the run under
its lock and commits the new state, its history record and the work that follows in
one step. A step attempt is named by (run, step, attempt): outcomes that arrive for an
attempt the run has moved past are dropped, so late or repeated reports change nothing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from jsonschema import validators
from loguru import logger

from ..definitions.workflow.retry import TIMEOUT, WORKER_LOST
from ..definitions.workflow.template import CANCELLED, FAILED, SUCCEEDED, WorkflowTemplate
from ..errors import (
    AgentEnded,
    EventNotAllowed,
    InvalidRequest,
    MachineNotFound,
    OpsCoreError,
    StepNotWaiting,
)
from ..model import Instance, Page, Query, TransitionRecord
from ..store.work import WorkItem, WorkKind
from . import rundata
from .agents import AgentService
from .idempotency import IdempotentRequest
from .lifecycle import Fired, Lifecycle, Plan, new_id
from .run_metrics import observe
from .run_plans import IN_PROGRESS, RunPlans
from .validation import check_json, check_json_object

KIND = "run"
STARTABLE = ("queued", "retrying")


class RunService:
    """Runs of workflow templates, and the bookkeeping of their step attempts."""

    kind = KIND

    def __init__(
        self, lifecycle: Lifecycle, agents: AgentService, rng: random.Random | None = None
    ) -> None:
        self.lifecycle = lifecycle
        self.agents = agents
        rng = rng or random.Random()  # noqa: S311 - retry jitter, not security
        self.plans = RunPlans(self.template, lifecycle.clock, rng)
        self._validators: dict[str, Any] = {}

    # ---- what callers ask for -----------------------------------------------------------

    def template(self, run: Instance) -> WorkflowTemplate:
        """The template version the run is pinned to."""
        return self.lifecycle.engine.definition(run).workflow

    def workflow(self, name: str, version: int | None = None) -> Any:
        """The workflow definition `name` (MachineNotFound unless it is a workflow)."""
        definition = self.lifecycle.engine.definitions.get(name, version)
        if definition.kind != "workflow":
            raise MachineNotFound(name, version)
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
            self._check_agent(agent_id, template.agent.on_start)
        run_id = new_id()
        now = self.lifecycle.clock.now()
        context, first = rundata.initial(run_id, input_data, template.start, now)
        work = [first] + (
            [WorkItem(WorkKind.RUN_TIMEOUT, run_id, due=now + template.timeout)]
            if template.timeout
            else []
        )
        run = self.lifecycle.create(
            KIND,
            workflow,
            instance_id=run_id,
            agent_id=agent_id,
            context=context,
            idempotency=idempotency,
            work=lambda _: work,
        )
        if agent_id is not None and template.agent.on_start:
            refused = self._agent_event(run, template.agent.on_start)
            if refused:
                self._fail_run(run_id, "Agent.EventRefused", refused)
        return run

    def get(self, run_id: str) -> Instance:
        """The run (RunNotFound otherwise)."""
        return self.lifecycle.store.get(KIND, run_id)

    def list(self, query: Query | None = None) -> Page[Instance]:
        """Runs matching the query's workflow (machine), state and agent filters."""
        return self.lifecycle.find(KIND, query or Query())

    def history(
        self, run_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """The run's transitions, oldest first."""
        return self.lifecycle.history(KIND, run_id, since_seq, offset, limit)

    def tasks_for_agent(self, agent_id: str, offset: int = 0, limit: int = 50) -> Page[Instance]:
        """Runs whose current step waits for this agent's report."""
        self.agents.get(agent_id)
        return self.lifecycle.find(KIND, Query(waiting_for=agent_id, offset=offset, limit=limit))

    def cancel(self, run_id: str, idempotency: IdempotentRequest | None = None) -> Fired:
        """Stop a run that has not finished; its current attempt is recorded as cancelled."""
        fired = self.lifecycle.transact(KIND, run_id, self.plans.cancelled, idempotency)
        return self._settled(fired)

    def redrive(self, run_id: str, idempotency: IdempotentRequest | None = None) -> Fired:
        """Restart a failed run at the step that failed; finished steps keep their outputs."""

        def plan(run: Instance) -> Plan:
            return self.plans.redriven(run, self.lifecycle.allowed_events(run))

        return self._settled(self.lifecycle.transact(KIND, run_id, plan, idempotency))

    def complete_step(
        self, run_id: str, step: str, output: Any, idempotency: IdempotentRequest | None = None
    ) -> Fired:
        """An agent reports its step done with `output` (409 unless the step waits for it)."""
        output = check_json(output, "output", self.lifecycle.limits)
        return self._waiting(
            run_id,
            step,
            idempotency,
            lambda run, pending: self.plans.succeeded(run, pending, output),
        )

    def fail_step(
        self,
        run_id: str,
        step: str,
        error: str,
        message: str,
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """An agent reports its step failed; the template's retriers and catchers apply."""
        return self._waiting(
            run_id,
            step,
            idempotency,
            lambda run, pending: self.plans.failed(run, pending, error, message),
        )

    # ---- attempts, as the workers settle them ------------------------------------------

    def begin_attempt(self, item: WorkItem, worker: str | None = None) -> Fired | None:
        """Start the queued attempt `item` names: a task runs, a choice chooses, a wait waits."""
        return self._attempt(
            item, STARTABLE, lambda run, pending: self.plans.begin(run, pending, worker)
        )

    def succeed_attempt(self, item: WorkItem, output: Any) -> Fired | None:
        """The attempt finished with `output`."""
        return self._attempt(item, IN_PROGRESS, lambda run, p: self.plans.succeeded(run, p, output))

    def fail_attempt(self, item: WorkItem, error: str, message: str) -> Fired | None:
        """The attempt failed with a named error."""
        return self._attempt(
            item, IN_PROGRESS, lambda run, p: self.plans.failed(run, p, error, message)
        )

    def suspend_attempt(
        self, item: WorkItem, agent_id: str, request: Mapping[str, Any]
    ) -> Fired | None:
        """The attempt waits for `agent_id` to report."""
        return self._attempt(
            item, ("running",), lambda run, p: self.plans.waiting(run, p, agent_id, request)
        )

    def sleep_attempt(self, item: WorkItem, seconds: float, output: Any) -> Fired | None:
        """The attempt finishes with `output` after `seconds`."""
        return self._attempt(
            item, ("running",), lambda run, p: self.plans.sleeping(run, p, seconds, output)
        )

    def resume(self, item: WorkItem) -> Fired | None:
        """A sleeping attempt's time is up: it succeeds with its kept result."""
        return self._attempt(
            item, ("sleeping",), lambda run, p: self.plans.succeeded(run, p, p.get("result"))
        )

    def recover_attempt(self, item: WorkItem) -> Fired | None:
        """The worker running this attempt died (its lease ran out): fail it, retry per policy."""
        message = "the worker running this attempt stopped before it finished"
        return self._attempt(
            item, ("running",), lambda run, p: self.plans.failed(run, p, WORKER_LOST, message)
        )

    def time_out_attempt(self, item: WorkItem) -> Fired | None:
        """The attempt ran past its step's timeout."""
        return self.fail_attempt(item, TIMEOUT, "the step ran past its timeout")

    def time_out_run(self, run_id: str) -> Fired | None:
        """The whole run ran past its template's timeout."""
        return self._fail_run(run_id, TIMEOUT, "the run ran past its timeout")

    # ---- helpers ------------------------------------------------------------------------

    def _attempt(self, item: WorkItem, statuses: tuple[str, ...], make: Any) -> Fired | None:
        def plan(run: Instance) -> Plan | None:
            pending = self._pending(run, item.step, item.attempt, statuses)
            return None if pending is None else make(run, pending)

        return self._settled(self.lifecycle.transact(KIND, item.run_id, plan))

    def _waiting(
        self, run_id: str, step: str, idempotency: IdempotentRequest | None, make: Any
    ) -> Fired:
        def plan(run: Instance) -> Plan:
            pending = run.context.get("pending")
            if not pending or pending["step"] != step or pending["status"] != "waiting":
                status = pending["status"] if pending and pending["step"] == step else None
                raise StepNotWaiting(run_id, step, status)
            return make(run, pending)

        return self._settled(self.lifecycle.transact(KIND, run_id, plan, idempotency))

    @staticmethod
    def _pending(run: Instance, step: str, attempt: int, statuses: tuple[str, ...]) -> dict | None:
        pending = run.context.get("pending")
        if (
            not pending
            or pending["step"] != step
            or pending["attempt"] != attempt
            or pending["status"] not in statuses
        ):
            return None
        return pending

    def _fail_run(self, run_id: str, error: str, message: str) -> Fired | None:
        def plan(run: Instance) -> Plan | None:
            if run.state in (SUCCEEDED, FAILED, CANCELLED):
                return None
            return self.plans.run_failed(run, error, message)

        return self._settled(self.lifecycle.transact(KIND, run_id, plan))

    def _settled(self, fired: Fired | None) -> Fired | None:
        """After a commit: count what happened; a run that just ended tells its agent."""
        if fired is not None:
            observe(fired)
        if fired is None or fired.record is None or fired.previous.state == fired.instance.state:
            return fired
        binding = self.template(fired.instance).agent
        event = {
            SUCCEEDED: binding.on_success,
            FAILED: binding.on_failure,
            CANCELLED: binding.on_cancel,
        }.get(fired.instance.state)
        if event and fired.instance.agent_id:
            self._agent_event(fired.instance, event)
        return fired

    def _agent_event(self, run: Instance, event: str) -> str | None:
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

    def _check_input(self, definition: Any, input_data: Mapping[str, Any]) -> None:
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

    def _check_agent(self, agent_id: str, on_start: str | None) -> None:
        agent = self.agents.get(agent_id)
        if self.lifecycle.is_final(agent):
            raise AgentEnded(agent_id, agent.state)
        allowed = self.agents.allowed_events(agent)
        if on_start and on_start not in allowed:
            raise EventNotAllowed(on_start, agent.state, allowed)
