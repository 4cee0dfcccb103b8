"""Step attempts as the workers settle them: begin, succeed, fail, wait, sleep, resume,
recover from a lost worker, time out; start a workflow step's child run, settle the step
when the child ends, cancel a child its parent no longer waits for.

An attempt is named by its work item (run, step, attempt number). An outcome that arrives
for an attempt the run has moved past finds no plan and changes nothing, so late or
repeated reports are harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..definitions.workflow.retry import TIMEOUT, WORKER_LOST
from ..definitions.workflow.template import CANCELLED, SUCCEEDED, StepKind
from ..errors import AlreadyExists, InvalidRequest, NotFound, OpsCoreError, QueueFull
from ..model import Instance
from ..services.lifecycle import Fired
from ..store.work import WorkItem, WorkKind
from .paths import top_level
from .planner import RunPlan
from .service import RunService
from .state import IN_PROGRESS, STARTABLE, RunState, StepRecord, StepStatus

LOST_WORKER = "the worker running this attempt stopped before it finished"
CHILD_REFUSED = "States.ChildRunRefused"
CHILD_CANCELLED = "States.ChildRunCancelled"

Settle = Callable[[Instance, RunState], RunPlan]


class Attempts:
    """What workers report about the attempts they carry out."""

    def __init__(self, runs: RunService) -> None:
        self.runs = runs
        self.ledger = runs.ledger
        self.planner = runs.planner

    def begin(self, item: WorkItem, worker: str | None = None) -> Fired | None:
        """Start the queued attempt `item` names: a task runs, a choice chooses, a wait waits."""
        return self._settle(
            item,
            STARTABLE,
            lambda run, state: self.planner.begin(run, state, item.step, worker),
            begins=True,
        )

    def succeed(self, item: WorkItem, output: Any) -> Fired | None:
        """The attempt finished with `output`."""
        return self._settle(
            item,
            IN_PROGRESS,
            lambda run, state: self.planner.succeeded(run, state, item.step, output),
            guess=True,
            finishes=True,
        )

    def fail(
        self, item: WorkItem, error: str, message: str, *, finishes: bool = True
    ) -> Fired | None:
        """The attempt failed with a named error (`finishes`: see `_settle`)."""
        return self._settle(
            item,
            IN_PROGRESS,
            lambda run, state: self.planner.failed(run, state, item.step, error, message),
            guess=True,
            finishes=finishes,
        )

    def suspend(
        self, item: WorkItem, agent_id: str, request: Mapping[str, Any], push: bool = False
    ) -> Fired | None:
        """The attempt waits for `agent_id` to report; with `push`, its task is also queued
        to be pushed to the agent's endpoint, in the same commit."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            made = self.planner.waiting(run, state, item.step, agent_id, request)
            if push:
                now = self.ledger.lifecycle.clock.now()
                made.work.append(WorkItem(WorkKind.PUSH_TASK, run.id, item.step, item.attempt, now))
            return made

        return self._settle(item, {StepStatus.RUNNING}, plan, guess=True, finishes=True)

    def offer(self, item: WorkItem, capability: str, request: Mapping[str, Any]) -> Fired | None:
        """The attempt waits for any agent with `capability` to claim it and report."""
        return self._settle(
            item,
            {StepStatus.RUNNING},
            lambda run, state: self.planner.offered(run, state, item.step, capability, request),
            guess=True,
            finishes=True,
        )

    def sleep(self, item: WorkItem, seconds: float, output: Any) -> Fired | None:
        """The attempt finishes with `output` after `seconds`."""
        return self._settle(
            item,
            {StepStatus.RUNNING},
            lambda run, state: self.planner.sleeping(run, state, item.step, seconds, output),
            guess=True,
            finishes=True,
        )

    def resume(self, item: WorkItem) -> Fired | None:
        """A sleeping attempt's time is up: it succeeds with its kept result."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            result = state.steps[item.step].result
            return self.planner.succeeded(run, state, item.step, result)

        return self._settle(item, {StepStatus.SLEEPING}, plan, finishes=True)

    def recover(self, item: WorkItem) -> Fired | None:
        """The worker running a task's attempt died (its lease ran out): fail the attempt,
        retry per policy. Other steps begin in one commit, so nothing of theirs was lost."""

        def plan(run: Instance, state: RunState) -> RunPlan | None:
            if self.ledger.template(run).step(item.step).kind != StepKind.TASK:
                return None
            return self.planner.failed(run, state, item.step, WORKER_LOST, LOST_WORKER)

        return self._settle(item, {StepStatus.RUNNING}, plan)

    def time_out(self, item: WorkItem, *, finishes: bool = True) -> Fired | None:
        """The attempt ran past its step's timeout; if its worker stopped renewing its claim
        meanwhile, it was lost instead (States.WorkerLost, which a template may retry).
        Without `finishes`: `item` may no longer be this worker's (a handler left behind)."""
        if self.ledger.lifecycle.store.queue.holder_stalled(item):
            return self.fail(item, WORKER_LOST, LOST_WORKER, finishes=finishes)
        return self.fail(item, TIMEOUT, "the step ran past its timeout", finishes=finishes)

    def time_out_run(self, run_id: str) -> Fired | None:
        """The whole run ran past its template's timeout."""
        return self.runs.fail_run(run_id, TIMEOUT, "the run ran past its timeout")

    def start_child(self, item: WorkItem) -> None:
        """A workflow step's attempt starts its child run (once, however often this comes)."""
        parent = self.ledger.get(item.run_id)
        record = self.current(item, parent)
        if record is None or record.status != StepStatus.WAITING or record.child is None:
            return
        workflow = self.ledger.template(parent).step(item.step).workflow
        try:
            self.runs.start_child(parent, item.step, record, workflow)
        except AlreadyExists:
            return  # started before this item was delivered again
        except QueueFull as full:
            self._start_later(item, full.retry_after)
        except (NotFound, InvalidRequest) as refused:
            self.fail(item, CHILD_REFUSED, f"the child run of '{workflow}' was refused: {refused}")

    def child_done(self, item: WorkItem) -> Fired | None:
        """A child run ended: the parent's step takes its output, or fails with its error."""
        parent = self.ledger.get(item.run_id)
        record = self.current(item, parent)
        if record is None or record.status != StepStatus.WAITING or record.child is None:
            return None
        child = self.ledger.get(record.child)
        state = self.ledger.state(child)
        if child.state == SUCCEEDED:
            return self.succeed(item, state.output)
        if child.state == CANCELLED:
            return self.fail(item, CHILD_CANCELLED, f"the child run {child.id} was cancelled")
        error = state.error
        name, message = (error.name, error.message) if error else ("States.ChildRunFailed", "")
        return self.fail(item, name, message)

    def cancel_child(self, run_id: str) -> None:
        """Cancel a child run its parent no longer waits for (unless it has ended)."""
        try:
            self.runs.cancel(run_id)
        except OpsCoreError:
            return  # it ended first, or was never started

    def _start_later(self, item: WorkItem, delay: float) -> None:
        """The queue is full: try to start the child again after `delay`."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            due = self.planner.clock.now() + delay
            again = WorkItem(WorkKind.START_CHILD, run.id, item.step, item.attempt, due)
            return RunPlan(state, work=[again])

        self._settle(item, {StepStatus.WAITING}, plan)

    def current(self, item: WorkItem, run: Instance) -> StepRecord | None:
        """The record of the step `item` names, if `item` is its current attempt."""
        record = self.ledger.state(run).step(item.step)
        return record if record is not None and record.attempt == item.attempt else None

    def _settle(
        self,
        item: WorkItem,
        statuses: Collection[StepStatus],
        settle: Settle,
        guess: bool = False,
        begins: bool = False,
        finishes: bool = False,
    ) -> Fired | None:
        """Commit `settle`'s plan if `item` is still the step's current attempt, in one of
        `statuses`. With `guess` (the outcomes a worker reports on the attempt it began), the
        run is planned on first as this process last committed it (RunLedger.commit); with
        `begins`, as the commit that queued `item` left it, if this process made that commit.
        With `finishes` (an outcome: the last thing done for a claimed item), the item's
        queue row may go in the same commit, so the worker's `done` after it costs nothing;
        not for an item the watchdog may have released (its row id may be another's by then)."""

        def plan(run: Instance, state: RunState) -> RunPlan | None:
            record = state.step(item.step)
            if (
                record is None
                or record.attempt != item.attempt
                or record.status not in statuses
                or not _is_current(run, item.step)
            ):
                return None
            return settle(run, state)

        finished = item if finishes and item.id is not None else None
        begun = item if begins else None
        return self.ledger.commit(item.run_id, plan, guess=guess, begins=begun, finishes=finished)


def _is_current(run: Instance, path: str) -> bool:
    """Whether the run is at the top-level step `path` is inside."""
    return run.state == top_level(path)
