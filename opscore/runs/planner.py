"""What each outcome in a run's life commits: the next state, the run's new state, the work
that follows. Pure: plans are computed from the run as it is now; nothing here reads or
writes the store (`RunService` and `Attempts` commit them under the run's lock).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..definitions.workflow.choice import choose
from ..definitions.workflow.retry import decide
from ..definitions.workflow.template import FAILED, SUCCEEDED, Step, StepKind, WorkflowTemplate
from ..errors import EventNotAllowed
from ..model import Instance
from ..store.work import WorkItem, WorkKind
from .state import Failure, Outcome, RunState, RunStatus, StepRecord, StepStatus

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


def work_for(kind: WorkKind, run: Instance, path: str, record: StepRecord, due: float) -> WorkItem:
    """Work for the current attempt of the step at `path`."""
    return WorkItem(kind, run.id, path, record.attempt, due)


def note(path: str, record: StepRecord, status: StepStatus, **details: Any) -> dict[str, Any]:
    """What changed in a step's current attempt (plain JSON: it goes to the feed)."""
    shown = {"step": path, "attempt": record.attempt, "status": str(status)}
    shown.update((key, value) for key, value in details.items() if value is not None)
    return shown


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

    def first(self, run_id: str, state: RunState, start: str) -> tuple[RunState, WorkItem]:
        """A new run's state once it entered its first step, and that step's work."""
        record = StepRecord.entered(None)
        item = WorkItem(WorkKind.DISPATCH, run_id, start, record.attempt, self.clock.now())
        return state.with_step(start, record), item

    def begin(self, run: Instance, state: RunState, path: str, worker: str | None) -> RunPlan:
        """Start the step's queued attempt: a task runs, a choice chooses, a wait waits."""
        step = self.template(run).step(path)
        record = state.steps[path]
        now = self.clock.now()
        if step.kind == StepKind.CHOICE:
            return self._chosen(run, state, step, record.started(now, None, StepStatus.RUNNING))
        if step.kind == StepKind.WAIT:
            record = record.started(now, worker, StepStatus.SLEEPING)
            work = [work_for(WorkKind.RESUME, run, path, record, now + step.wait)]
            return RunPlan(
                state.with_step(path, record),
                work=work,
                notes=[note(path, record, StepStatus.SLEEPING)],
            )
        record = record.started(now, worker, StepStatus.RUNNING)
        timers = (
            [work_for(WorkKind.STEP_TIMEOUT, run, path, record, now + step.timeout)]
            if step.timeout
            else []
        )
        shown = note(path, record, StepStatus.RUNNING, worker=worker)
        return RunPlan(state.with_step(path, record), work=timers, notes=[shown])

    def waiting(
        self,
        run: Instance,
        state: RunState,
        path: str,
        agent_id: str,
        request: Mapping[str, Any],
    ) -> RunPlan:
        """The running attempt now waits for an agent's report."""
        record = state.steps[path].waiting(agent_id, request)
        shown = note(path, record, StepStatus.WAITING, agent_id=agent_id)
        return RunPlan(state.with_step(path, record), notes=[shown])

    def sleeping(
        self, run: Instance, state: RunState, path: str, seconds: float, output: Any
    ) -> RunPlan:
        """The running attempt finishes with `output` after `seconds`."""
        record = state.steps[path].sleeping(output)
        work = [work_for(WorkKind.RESUME, run, path, record, self.clock.now() + seconds)]
        shown = note(path, record, StepStatus.SLEEPING, seconds=seconds)
        return RunPlan(state.with_step(path, record), work=work, notes=[shown])

    def succeeded(self, run: Instance, state: RunState, path: str, output: Any) -> RunPlan:
        """The attempt succeeded: move on to the step's `next`."""
        step = self.template(run).step(path)
        record = state.steps[path].ended(self.clock.now(), Outcome.SUCCEEDED, output=output)
        return self._go(run, state.with_step(path, record), "succeed", step.next, output, path)

    def failed(
        self, run: Instance, state: RunState, path: str, error: str, message: str
    ) -> RunPlan:
        """The attempt failed: retry it, catch the error, or fail the run (in that order)."""
        now = self.clock.now()
        step = self.template(run).step(path)
        record = state.steps[path]
        retries = list(record.retries or [0] * len(step.retry))
        decision = decide(error, step.retry, step.catch, dict(enumerate(retries)), self.rng)
        failure = Failure(error, message[:MESSAGE_KEPT])
        if decision.retrier is not None:
            retries[decision.retrier] += 1
            return self._retry(run, state, path, failure, tuple(retries), decision.delay, now)
        record = record.ended(now, Outcome.FAILED, error=failure)
        state = state.with_step(path, record).failed(failure.at(path))
        data = {"step": path, "error": error}
        if decision.catch is not None:
            return self._go(run, state, f"catch_{decision.catch}", decision.catch, None, path, data)
        return RunPlan(state, "fail", data, ends=RunStatus.FAILED)

    def _retry(
        self,
        run: Instance,
        state: RunState,
        path: str,
        failure: Failure,
        retries: tuple[int, ...],
        delay: float,
        now: float,
    ) -> RunPlan:
        ended = state.steps[path].ended(now, Outcome.FAILED, error=failure, retry_in=delay)
        record = ended.retrying(now + delay, retries)
        shown = note(
            path,
            ended,
            StepStatus.RETRYING,
            error=failure.name,
            message=failure.message,
            retry_in=delay,
        )
        work = [work_for(WorkKind.DISPATCH, run, path, record, now + delay)]
        return RunPlan(state.with_step(path, record), work=work, notes=[shown])

    def _chosen(self, run: Instance, state: RunState, step: Step, record: StepRecord) -> RunPlan:
        """A choice step picks the `next` of its first rule that holds, else its default."""
        now = self.clock.now()
        dest = choose(
            list(step.choice), step.default, state.view(run_view(run, self.template(run)))
        )
        if dest is None:
            record = record.ended(now, Outcome.FAILED, error=NO_CHOICE)
            state = state.with_step(step.name, record).failed(NO_CHOICE.at(step.name))
            data = {"step": step.name, "error": NO_CHOICE.name}
            return RunPlan(state, "fail", data, ends=RunStatus.FAILED)
        record = record.ended(now, Outcome.SUCCEEDED, output={"next": dest})
        return self._go(
            run, state.with_step(step.name, record), f"choose_{dest}", dest, None, step.name
        )

    def cancelled(self, run: Instance, state: RunState) -> RunPlan:
        """Stop the run; an attempt in progress is recorded as cancelled."""
        record = state.pending(run.state)
        if record is not None:
            state = state.with_step(run.state, record.cancelled(self.clock.now()))
        return RunPlan(state, "cancel", ends=RunStatus.CANCELLED)

    def redriven(self, run: Instance, state: RunState, allowed: tuple[str, ...]) -> RunPlan:
        """Restart a failed run at the step that failed; earlier outputs stay."""
        step = state.error.step if state.error else None
        if run.state != FAILED or step not in self.template(run).steps:
            raise EventNotAllowed(f"redrive_{step or '?'}", run.state, allowed)
        state, work = self._enter(run, state.without_error(), step)
        return RunPlan(state, f"redrive_{step}", work=[work])

    def run_failed(self, run: Instance, state: RunState, error: str, message: str) -> RunPlan:
        """Fail the whole run (its timeout, or its agent refused to start)."""
        failure = Failure(error, message)
        record = state.pending(run.state)
        if record is not None and record.in_progress:
            state = state.with_step(
                run.state, record.ended(self.clock.now(), Outcome.FAILED, error=failure)
            )
        state = state.failed(failure.at(run.state))
        return RunPlan(state, "fail", {"step": run.state, "error": error}, ends=RunStatus.FAILED)

    def _go(
        self,
        run: Instance,
        state: RunState,
        event: str,
        dest: str | None,
        output: Any,
        path: str,
        data: Mapping[str, Any] | None = None,
    ) -> RunPlan:
        """Fire `event` into `dest`: a step (queued), `succeeded` or `failed`."""
        data = data or {"step": path}
        if dest == FAILED:
            return RunPlan(state, event, data, ends=RunStatus.FAILED)
        if dest == SUCCEEDED:
            return RunPlan(state.succeeded(output), event, data, ends=RunStatus.SUCCEEDED)
        state, work = self._enter(run, state, dest)
        return RunPlan(state, event, data, [work])

    def _enter(self, run: Instance, state: RunState, path: str) -> tuple[RunState, WorkItem]:
        """Queue a new attempt of the step at `path` (due now, so the queue can tell how long
        it waited)."""
        record = StepRecord.entered(state.step(path))
        item = work_for(WorkKind.DISPATCH, run, path, record, self.clock.now())
        return state.with_step(path, record), item


def run_view(run: Instance, template: WorkflowTemplate) -> dict[str, Any]:
    """What `$.run` shows: the run's id, its agent, its template's name and version."""
    return {
        "id": run.id,
        "agent_id": run.agent_id,
        "workflow": template.name,
        "version": template.version,
    }
