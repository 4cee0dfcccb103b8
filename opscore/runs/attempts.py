"""Step attempts as the workers settle them: begin, succeed, fail, wait, sleep, resume,
recover from a lost worker, time out.

An attempt is named by its work item (run, step, attempt number). An outcome that arrives
for an attempt the run has moved past finds no plan and changes nothing, so late or
repeated reports are harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..definitions.workflow.retry import TIMEOUT, WORKER_LOST
from ..model import Instance
from ..services.lifecycle import Fired
from ..store.work import WorkItem
from .ledger import RunLedger
from .planner import Planner, RunPlan
from .state import IN_PROGRESS, STARTABLE, RunState, StepRecord, StepStatus

LOST_WORKER = "the worker running this attempt stopped before it finished"

Settle = Callable[[Instance, RunState], RunPlan]


class Attempts:
    """What workers report about the attempts they carry out."""

    def __init__(self, ledger: RunLedger, planner: Planner, fail_run: Callable) -> None:
        self.ledger = ledger
        self.planner = planner
        self._fail_run = fail_run

    def begin(self, item: WorkItem, worker: str | None = None) -> Fired | None:
        """Start the queued attempt `item` names: a task runs, a choice chooses, a wait waits."""
        return self._settle(
            item, STARTABLE, lambda run, state: self.planner.begin(run, state, item.step, worker)
        )

    def succeed(self, item: WorkItem, output: Any) -> Fired | None:
        """The attempt finished with `output`."""
        return self._settle(
            item,
            IN_PROGRESS,
            lambda run, state: self.planner.succeeded(run, state, item.step, output),
        )

    def fail(self, item: WorkItem, error: str, message: str) -> Fired | None:
        """The attempt failed with a named error."""
        return self._settle(
            item,
            IN_PROGRESS,
            lambda run, state: self.planner.failed(run, state, item.step, error, message),
        )

    def suspend(self, item: WorkItem, agent_id: str, request: Mapping[str, Any]) -> Fired | None:
        """The attempt waits for `agent_id` to report."""
        return self._settle(
            item,
            {StepStatus.RUNNING},
            lambda run, state: self.planner.waiting(run, state, item.step, agent_id, request),
        )

    def sleep(self, item: WorkItem, seconds: float, output: Any) -> Fired | None:
        """The attempt finishes with `output` after `seconds`."""
        return self._settle(
            item,
            {StepStatus.RUNNING},
            lambda run, state: self.planner.sleeping(run, state, item.step, seconds, output),
        )

    def resume(self, item: WorkItem) -> Fired | None:
        """A sleeping attempt's time is up: it succeeds with its kept result."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            result = state.steps[item.step].result
            return self.planner.succeeded(run, state, item.step, result)

        return self._settle(item, {StepStatus.SLEEPING}, plan)

    def recover(self, item: WorkItem) -> Fired | None:
        """The worker running this attempt died (its lease ran out): fail it, retry per policy."""
        return self._settle(
            item,
            {StepStatus.RUNNING},
            lambda run, state: self.planner.failed(run, state, item.step, WORKER_LOST, LOST_WORKER),
        )

    def time_out(self, item: WorkItem) -> Fired | None:
        """The attempt ran past its step's timeout."""
        return self.fail(item, TIMEOUT, "the step ran past its timeout")

    def time_out_run(self, run_id: str) -> Fired | None:
        """The whole run ran past its template's timeout."""
        return self._fail_run(run_id, TIMEOUT, "the run ran past its timeout")

    def current(self, item: WorkItem, run: Instance) -> StepRecord | None:
        """The record of the step `item` names, if `item` is its current attempt."""
        record = self.ledger.state(run).step(item.step)
        return record if record is not None and record.attempt == item.attempt else None

    def _settle(
        self, item: WorkItem, statuses: Collection[StepStatus], settle: Settle
    ) -> Fired | None:
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

        return self.ledger.commit(item.run_id, plan)


def _is_current(run: Instance, path: str) -> bool:
    """Whether the run is at the top-level step `path` starts with."""
    return run.state == path.split("/", 1)[0]
