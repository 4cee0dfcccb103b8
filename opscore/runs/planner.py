"""What each outcome in a run's life commits: the run's new state, the event its machine
fires (for a top-level step), the work that follows. Pure: plans are computed from the
run as it is now; nothing here reads or writes the store (`ledger.py` commits them).

A step inside a branch or map item moves its branch, not the run's machine; when the
branch ends, the parallel or map step around it may end too (see `fanout.py`), and that
may move the run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..definitions.workflow.choice import choose
from ..definitions.workflow.retry import decide
from ..definitions.workflow.template import FAILED, SUCCEEDED, Step, StepKind, WorkflowTemplate
from ..errors import EventNotAllowed
from ..model import Instance
from ..services.lifecycle import LinkedEvent
from ..store.work import WorkItem, WorkKind
from .fanout import FanOut, note
from .paths import ROOT, scope_of
from .state import Failure, Outcome, RunState, RunStatus, StepRecord, StepStatus
from .view import data_for

TASK_NAMESPACE = uuid.UUID("9b0f3c2e-5a41-4f7a-8d3e-7c1f0b6a2d94")
NO_CHOICE = Failure("States.NoChoiceMatched", "no rule held and no default")
MESSAGE_KEPT = 2000


@dataclass
class RunPlan:
    """A run's change: its new state, the event to fire (if any), work to queue, and notes of
    what changed in its steps (for live streams and logs, not its history)."""

    state: RunState
    event: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    work: list[WorkItem] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    ends: RunStatus | None = None  # how the run ends with this change, if it does
    changed: set[str] = field(default_factory=set)  # the steps whose records it changed
    linked: list[LinkedEvent] = field(default_factory=list)  # agents moved in the same commit
    # Instead of an event: move to (version, state) of the run's workflow (runs/upgrades.py).
    upgrade: tuple[int, str] | None = None

    def step(self, path: str, record: StepRecord) -> None:
        """Keep the step's new record."""
        self.state = self.state.with_step(path, record)
        self.changed.add(path)


def work_for(kind: WorkKind, run: Instance, path: str, record: StepRecord, due: float) -> WorkItem:
    """Work for the current attempt of the step at `path`."""
    return WorkItem(kind, run.id, path, record.attempt, due)


def task_id(run_id: str, path: str, attempt: int) -> str:
    """The id of the task an attempt becomes: the run's id, then a digest of the attempt."""
    return f"{run_id}.{uuid.uuid5(TASK_NAMESPACE, f'{run_id}/{path}/{attempt}').hex[:16]}"


class Planner:
    """Plans for a run's events, given how to find its template, the clock and a random source."""

    def __init__(
        self,
        template: Callable[[Instance], WorkflowTemplate],
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.template = template
        self.clock = clock
        self.rng = rng
        self.fanout = FanOut(self)

    def first(self, run_id: str, state: RunState, start: str) -> tuple[RunState, WorkItem]:
        """A new run's state once it entered its first step, and that step's work."""
        record = StepRecord.entered(None)
        item = WorkItem(WorkKind.DISPATCH, run_id, start, record.attempt, self.clock.now())
        return state.with_step(start, record), item

    def data(self, run: Instance, state: RunState, path: str) -> dict[str, Any]:
        """What references of the step at `path` read."""
        return data_for(run, self.template(run), state, path)

    # ---- outcomes of an attempt -----------------------------------------------------------

    def begin(self, run: Instance, state: RunState, path: str, worker: str | None) -> RunPlan:
        """Start the step's queued attempt: a task runs, a choice chooses, a wait waits, a
        parallel or map step starts its branches, a workflow step its child run."""
        step = self.template(run).step(path)
        record = state.steps[path]
        now = self.clock.now()
        plan = RunPlan(state)
        if step.kind == StepKind.CHOICE:
            return self._chosen(
                run, plan, path, step, record.started(now, None, StepStatus.RUNNING)
            )
        if step.kind == StepKind.WAIT:
            record = record.started(now, worker, StepStatus.SLEEPING)
            plan.step(path, record)
            plan.work.append(work_for(WorkKind.RESUME, run, path, record, now + step.wait))
            plan.notes.append(note(path, record, StepStatus.SLEEPING))
            return plan
        if step.kind == StepKind.INPUT:
            plan.step(path, record.started(now, None, StepStatus.RUNNING))
            if step.timeout:
                due = now + step.timeout
                plan.work.append(work_for(WorkKind.STEP_TIMEOUT, run, path, record, due))
            return self._task(run, plan, path, {"schema": dict(step.answer_schema or {})})
        waits = step.kind == StepKind.WORKFLOW
        record = record.started(now, worker, StepStatus.WAITING if waits else StepStatus.RUNNING)
        plan.step(path, record)
        if step.timeout:
            plan.work.append(work_for(WorkKind.STEP_TIMEOUT, run, path, record, now + step.timeout))
        if step.kind == StepKind.TASK:
            plan.notes.append(note(path, record, StepStatus.RUNNING, worker=worker))
            return plan
        return self.fanout.begin(run, plan, path, step)

    def waiting(
        self,
        run: Instance,
        state: RunState,
        path: str,
        agent_id: str,
        request: Mapping[str, Any],
    ) -> RunPlan:
        """The running attempt is now a task for one agent: it waits for that agent's report."""
        return self._task(run, RunPlan(state), path, request, agent_id=agent_id)

    def offered(
        self,
        run: Instance,
        state: RunState,
        path: str,
        capability: str,
        request: Mapping[str, Any],
    ) -> RunPlan:
        """The running attempt is now a task any agent with `capability` may claim."""
        return self._task(run, RunPlan(state), path, request, capability=capability)

    def _task(
        self,
        run: Instance,
        plan: RunPlan,
        path: str,
        request: Mapping[str, Any],
        agent_id: str | None = None,
        capability: str | None = None,
    ) -> RunPlan:
        """Within `plan`: the step's attempt becomes a task (for an agent, a capability, or,
        with neither, an answer)."""
        record = plan.state.steps[path]
        task = task_id(run.id, path, record.attempt)
        plan.step(path, record.waiting(agent_id, request, task, capability))
        shown = note(path, record, StepStatus.WAITING, agent_id=agent_id, capability=capability)
        plan.notes.append({**shown, "task": task})
        return plan

    def sleeping(
        self, run: Instance, state: RunState, path: str, seconds: float, output: Any
    ) -> RunPlan:
        """The running attempt finishes with `output` after `seconds`."""
        plan = RunPlan(state)
        plan.step(path, state.steps[path].sleeping(output))
        record = plan.state.steps[path]
        plan.work.append(work_for(WorkKind.RESUME, run, path, record, self.clock.now() + seconds))
        plan.notes.append(note(path, record, StepStatus.SLEEPING, seconds=seconds))
        return plan

    def succeeded(self, run: Instance, state: RunState, path: str, output: Any) -> RunPlan:
        """The attempt succeeded: move on to the step's `next`."""
        return self.step_succeeded(run, RunPlan(state), path, output)

    def failed(
        self, run: Instance, state: RunState, path: str, error: str, message: str
    ) -> RunPlan:
        """The attempt failed: retry it, catch the error, or fail its flow (in that order)."""
        return self.step_failed(run, RunPlan(state), path, error, message)

    def step_succeeded(self, run: Instance, plan: RunPlan, path: str, output: Any) -> RunPlan:
        """Within `plan`: the step's attempt succeeded; its flow moves on."""
        step = self.template(run).step(path)
        record = plan.state.steps[path].ended(self.clock.now(), Outcome.SUCCEEDED, output=output)
        plan.step(path, record)
        if scope_of(path) != ROOT and step.next not in (SUCCEEDED, FAILED):
            # a branch that goes on says so; one that ends says it in its own note
            plan.notes.append(note(path, record, StepStatus.SUCCEEDED))
        return self._go(run, plan, "succeed", step.next, output, path)

    def step_failed(
        self, run: Instance, plan: RunPlan, path: str, error: str, message: str
    ) -> RunPlan:
        """Within `plan`: the step's attempt failed; what is inside it stops first."""
        now = self.clock.now()
        step = self.template(run).step(path)
        self.fanout.stop_inside(plan, path, now)
        record = plan.state.steps[path]
        retries = list(record.retries or [0] * len(step.retry))
        decision = decide(error, step.retry, step.catch, dict(enumerate(retries)), self.rng)
        failure = Failure(error, message[:MESSAGE_KEPT])
        if decision.retrier is not None:
            retries[decision.retrier] += 1
            return self._retry(run, plan, path, failure, tuple(retries), decision.delay, now)
        plan.step(path, record.ended(now, Outcome.FAILED, error=failure))
        scope = scope_of(path)
        if scope != ROOT:
            plan.notes.append(note(path, record, StepStatus.FAILED, error=error))
            if decision.catch is None:
                return self.fanout.branch_failed(run, plan, scope, failure.at(path))
            self.fanout.caught(plan, scope, failure.at(path))
            return self._go(run, plan, f"catch_{decision.catch}", decision.catch, None, path)
        plan.state = plan.state.failed(failure.at(path))
        data = {"step": path, "error": error}
        if decision.catch is not None:
            return self._go(run, plan, f"catch_{decision.catch}", decision.catch, None, path, data)
        plan.event, plan.data, plan.ends = "fail", data, RunStatus.FAILED
        return plan

    def _retry(
        self,
        run: Instance,
        plan: RunPlan,
        path: str,
        failure: Failure,
        retries: tuple[int, ...],
        delay: float,
        now: float,
    ) -> RunPlan:
        ended = plan.state.steps[path].ended(now, Outcome.FAILED, error=failure, retry_in=delay)
        record = ended.retrying(now + delay, retries)
        why = {"error": failure.name, "message": failure.message, "retry_in": delay}
        plan.step(path, record)
        plan.notes.append(note(path, ended, StepStatus.RETRYING, **why))
        plan.work.append(work_for(WorkKind.DISPATCH, run, path, record, now + delay))
        return plan

    def _chosen(
        self, run: Instance, plan: RunPlan, path: str, step: Step, record: StepRecord
    ) -> RunPlan:
        """A choice step picks the `next` of its first rule that holds, else its default."""
        now = self.clock.now()
        plan.step(path, record)
        dest = choose(list(step.choice), step.default, self.data(run, plan.state, path))
        if dest is None:
            plan.step(path, record.ended(now, Outcome.FAILED, error=NO_CHOICE))
            if scope_of(path) != ROOT:
                return self.fanout.branch_failed(run, plan, scope_of(path), NO_CHOICE.at(path))
            plan.state = plan.state.failed(NO_CHOICE.at(path))
            plan.event, plan.data = "fail", {"step": path, "error": NO_CHOICE.name}
            plan.ends = RunStatus.FAILED
            return plan
        plan.step(path, record.ended(now, Outcome.SUCCEEDED, output={"next": dest}))
        return self._go(run, plan, f"choose_{dest}", dest, None, path)

    # ---- what callers ask ----------------------------------------------------------------

    def cancelled(self, run: Instance, state: RunState) -> RunPlan:
        """Stop the run: every attempt in progress (branches and child runs too) is cancelled,
        every queued one never runs."""
        plan = RunPlan(state, "cancel", ends=RunStatus.CANCELLED)
        now = self.clock.now()
        self.fanout.stop_inside(plan, run.state, now)
        record = plan.state.pending(run.state)
        if record is not None:
            plan.step(run.state, record.cancelled(now))
        return plan

    def redriven(self, run: Instance, state: RunState, allowed: tuple[str, ...]) -> RunPlan:
        """Restart a failed run at the step that failed; earlier outputs stay, and a parallel
        or map step runs again only its branches or items that did not succeed."""
        step = state.error.step if state.error else None
        if run.state != FAILED or step not in self.template(run).steps:
            raise EventNotAllowed(f"redrive_{step or '?'}", run.state, allowed)
        plan = RunPlan(state.without_error(), f"redrive_{step}")
        self.enter(run, plan, step, afresh=False)
        return plan

    def run_failed(self, run: Instance, state: RunState, error: str, message: str) -> RunPlan:
        """Fail the whole run (its timeout): what runs inside its current step stops."""
        failure = Failure(error, message)
        plan = RunPlan(state, "fail", {"step": run.state, "error": error}, ends=RunStatus.FAILED)
        now = self.clock.now()
        self.fanout.stop_inside(plan, run.state, now)
        record = plan.state.pending(run.state)
        if record is not None and record.in_progress:
            plan.step(run.state, record.ended(now, Outcome.FAILED, error=failure))
        plan.state = plan.state.failed(failure.at(run.state))
        return plan

    # ---- moving a flow -------------------------------------------------------------------

    def _go(
        self,
        run: Instance,
        plan: RunPlan,
        event: str,
        dest: str | None,
        output: Any,
        path: str,
        data: Mapping[str, Any] | None = None,
    ) -> RunPlan:
        """Move the flow of the step at `path` into `dest`: a step (queued), `succeeded` or
        `failed`; a top-level step fires `event` on the run's machine."""
        scope = scope_of(path)
        if scope != ROOT:
            return self.fanout.moved(run, plan, scope, dest, output)
        plan.event, plan.data = event, data or {"step": path}
        if dest == FAILED:
            plan.ends = RunStatus.FAILED
        elif dest == SUCCEEDED:
            plan.state, plan.ends = plan.state.succeeded(output), RunStatus.SUCCEEDED
        else:
            self.enter(run, plan, dest)
        return plan

    def enter(self, run: Instance, plan: RunPlan, path: str, afresh: bool = True) -> None:
        """Queue a new attempt of the step at `path` (due now, so the queue can tell how long it
        waited). Entered `afresh` (not redriven), a parallel or map step forgets its branches."""
        record = StepRecord.entered(plan.state.step(path))
        if afresh and self.template(run).step(path).kind in (StepKind.PARALLEL, StepKind.MAP):
            plan.state = plan.state.without_branches(path)
        plan.step(path, record)
        plan.work.append(work_for(WorkKind.DISPATCH, run, path, record, self.clock.now()))
