"""Steps that run other flows: a `parallel` step's branches, a `map` step's items, a
`workflow` step's child run. Pure, like the planner it belongs to.

A parallel or map step is running while its branches or items are; each is a flow of its
own (`Branch`), whose steps are planned like any other. When every branch has succeeded
the step succeeds with their outputs (an object by branch name, or a list in item
order); when one fails, the others are cancelled and the step fails with its error, for
the step's own retriers and catchers. A retry or a redrive runs again only the branches
or items that did not succeed.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..definitions.workflow.refs import PathError, resolve
from ..definitions.workflow.retry import PATH_FAILURE
from ..definitions.workflow.schema import MAX_CONCURRENCY
from ..definitions.workflow.template import FAILED, SUCCEEDED, Step, StepKind
from ..model import Instance
from ..store.work import WorkItem, WorkKind
from .paths import join, split_scope, under
from .state import Branch, BranchStatus, Failure, StepRecord, StepStatus

if TYPE_CHECKING:  # the planner owns a FanOut; only its type is needed here
    from .planner import Planner, RunPlan

MAX_ITEMS = 1000  # items of one map step
MAX_RUN_STEPS = 10_000  # step records one run may hold (a map's items times its steps)
INVALID_ITEMS = "States.InvalidItems"
ITEMS_LIMIT = "States.ItemsLimitExceeded"
BRANCH_FAILED = "States.BranchFailed"
CHILD_NAMESPACE = uuid.UUID("5b7cbb6a-6f9a-4f0e-9f53-2a4f0fd1c7d1")


class ItemsRefused(Exception):
    """A map step's `items` cannot be run over: a named error and why."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def note(path: str, record: StepRecord, status: str, **details: Any) -> dict[str, Any]:
    """What changed in a step's current attempt (plain JSON: it goes to the feed)."""
    shown = {"step": path, "attempt": record.attempt, "status": str(status)}
    shown.update((key, value) for key, value in details.items() if value is not None)
    return shown


def child_id(run_id: str, path: str, attempt: int) -> str:
    """The id of the child run an attempt of a workflow step starts (the same every time)."""
    return uuid.uuid5(CHILD_NAMESPACE, f"{run_id}/{path}/{attempt}").hex


class FanOut:
    """Starts, advances, joins and stops the flows inside parallel, map and workflow steps."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner

    def begin(self, run: Instance, plan: RunPlan, path: str, step: Step) -> RunPlan:
        """The step's attempt has started (its record says so): start what it runs."""
        if step.kind == StepKind.PARALLEL:
            return self._begin_parallel(run, plan, path, step)
        if step.kind == StepKind.MAP:
            return self._begin_map(run, plan, path, step)
        return self._begin_child(run, plan, path, step)

    def _begin_parallel(self, run: Instance, plan: RunPlan, path: str, step: Step) -> RunPlan:
        plan.notes.append(note(path, plan.state.steps[path], StepStatus.RUNNING))
        for key, flow in step.branches.items():
            if not self._succeeded(plan, join(path, key)):
                self._start_branch(run, plan, join(path, key), flow.start)
        return self._joined(run, plan, path, step)

    def _begin_map(self, run: Instance, plan: RunPlan, path: str, step: Step) -> RunPlan:
        record = plan.state.steps[path]
        items = record.items
        if items is None:
            try:
                items = self._items(run, plan, path, step)
            except PathError as error:
                return self.planner.step_failed(run, plan, path, PATH_FAILURE, str(error))
            except ItemsRefused as error:
                return self.planner.step_failed(run, plan, path, error.name, error.message)
        todo = tuple(i for i in range(len(items)) if not self._succeeded(plan, join(path, str(i))))
        plan.step(path, record.mapping(tuple(items), todo))
        plan.notes.append(note(path, record, StepStatus.RUNNING, items=len(items)))
        self._start_items(run, plan, path, step)
        return self._joined(run, plan, path, step)

    def _items(self, run: Instance, plan: RunPlan, path: str, step: Step) -> list[Any]:
        """The list a map step runs over (ItemsRefused when it cannot be)."""
        items = resolve(step.items, self.planner.data(run, plan.state, path))
        if not isinstance(items, list):
            raise ItemsRefused(INVALID_ITEMS, f"'{step.items}' is not a list")
        records = len(items) * step.body.count_steps() if step.body else 0
        if len(items) > MAX_ITEMS or records > MAX_RUN_STEPS:
            raise ItemsRefused(
                ITEMS_LIMIT,
                f"'{step.items}' has {len(items)} items; a map step takes at most {MAX_ITEMS}, "
                f"and at most {MAX_RUN_STEPS} step runs in all",
            )
        return items

    def _begin_child(self, run: Instance, plan: RunPlan, path: str, step: Step) -> RunPlan:
        record = plan.state.steps[path]
        try:
            given = resolve(dict(step.input), self.planner.data(run, plan.state, path))
        except PathError as error:
            return self.planner.step_failed(run, plan, path, PATH_FAILURE, str(error))
        child = child_id(run.id, path, record.attempt)
        record = record.waiting_for_child(child, given)
        plan.step(path, record)
        plan.notes.append(note(path, record, StepStatus.WAITING, child_run_id=child))
        plan.work.append(
            WorkItem(WorkKind.START_CHILD, run.id, path, record.attempt, self.planner.clock.now())
        )
        return plan

    # ---- branches ------------------------------------------------------------------------

    def moved(
        self, run: Instance, plan: RunPlan, scope: str, dest: str | None, output: Any
    ) -> RunPlan:
        """A step of the branch `scope` finished: its flow moves to `dest`."""
        if dest == SUCCEEDED:
            return self._branch_ended(run, plan, scope, BranchStatus.SUCCEEDED, output)
        if dest == FAILED:
            branch = plan.state.branches[scope]
            error = branch.error or Failure(BRANCH_FAILED, f"branch '{scope}' moved to failed")
            return self.branch_failed(run, plan, scope, error)
        plan.state = plan.state.with_branch(scope, plan.state.branches[scope].moved(dest))
        self.planner.enter(run, plan, join(scope, dest))
        return plan

    def caught(self, plan: RunPlan, scope: str, error: Failure) -> None:
        """A catcher in the branch `scope` moved on from `error` (its `$.error` from now on)."""
        plan.state = plan.state.with_branch(scope, plan.state.branches[scope].caught(error))

    def branch_failed(self, run: Instance, plan: RunPlan, scope: str, error: Failure) -> RunPlan:
        """The branch `scope` failed with `error`: the others stop, and its step fails."""
        branch = plan.state.branches[scope]
        plan.state = plan.state.with_branch(scope, branch.caught(error))
        return self._branch_ended(run, plan, scope, BranchStatus.FAILED, None, error)

    def _branch_ended(
        self,
        run: Instance,
        plan: RunPlan,
        scope: str,
        status: BranchStatus,
        output: Any,
        error: Failure | None = None,
    ) -> RunPlan:
        owner, _ = split_scope(scope)
        plan.state = plan.state.with_branch(scope, plan.state.branches[scope].ended(status, output))
        plan.notes.append(self._branch_note(plan, scope, status))
        if plan.state.steps[owner].status != StepStatus.RUNNING:
            return plan  # its step has stopped meanwhile (cancelled, timed out)
        if error is not None:
            return self.planner.step_failed(run, plan, owner, error.name, error.message)
        step = self.planner.template(run).step(owner)
        if step.kind == StepKind.MAP:
            plan.step(owner, plan.state.steps[owner].item_ended())
            self._start_items(run, plan, owner, step)
        return self._joined(run, plan, owner, step)

    def _joined(self, run: Instance, plan: RunPlan, path: str, step: Step) -> RunPlan:
        """When every branch or item of the step has succeeded, it succeeds with their outputs."""
        if step.kind == StepKind.MAP and (
            plan.state.steps[path].todo or plan.state.steps[path].running
        ):
            return plan  # items still to run: no need to look at every one
        keys = self._keys(plan, path, step)
        branches = [plan.state.branches.get(join(path, key)) for key in keys]
        if not all(b is not None and b.status == BranchStatus.SUCCEEDED for b in branches):
            return plan
        if step.kind == StepKind.MAP:
            output: Any = [b.output for b in branches]
        else:
            output = {key: b.output for key, b in zip(keys, branches, strict=True)}
        return self.planner.step_succeeded(run, plan, path, output)

    def _start_items(self, run: Instance, plan: RunPlan, path: str, step: Step) -> None:
        """Start items from the map step's `todo` while fewer than its limit are running."""
        record = plan.state.steps[path]
        limit = step.max_concurrency or MAX_CONCURRENCY
        starting = record.todo[: max(0, limit - record.running)]
        if not starting:
            return  # all started, or as many running as the limit lets
        plan.step(path, record.started_items(len(starting)))
        for index in starting:
            self._start_branch(run, plan, join(path, str(index)), step.body.start)

    def _start_branch(self, run: Instance, plan: RunPlan, scope: str, start: str) -> None:
        plan.state = plan.state.with_branch(scope, Branch(start))
        self.planner.enter(run, plan, join(scope, start))  # its first step's notes say it runs

    @staticmethod
    def _branch_note(plan: RunPlan, scope: str, status: BranchStatus) -> dict[str, Any]:
        """What changed in a branch, numbered by the attempt of the step it belongs to."""
        owner, _ = split_scope(scope)
        return note(scope, plan.state.steps[owner], status)

    @staticmethod
    def _keys(plan: RunPlan, path: str, step: Step) -> list[str]:
        if step.kind == StepKind.MAP:
            return [str(i) for i in range(len(plan.state.steps[path].items or ()))]
        return list(step.branches)

    @staticmethod
    def _succeeded(plan: RunPlan, scope: str) -> bool:
        branch = plan.state.branches.get(scope)
        return branch is not None and branch.status == BranchStatus.SUCCEEDED

    # ---- stopping ------------------------------------------------------------------------

    def stop_inside(self, plan: RunPlan, path: str, now: float) -> None:
        """Cancel what runs inside the step at `path`: its running branches, their attempts
        and child runs (the step's own record is its caller's to end)."""
        state = plan.state
        for scope, branch in state.branches.items():
            if branch.status == BranchStatus.RUNNING and under(scope, path):
                state = state.with_branch(scope, branch.ended(BranchStatus.CANCELLED))
        plan.state = state
        for inner, record in state.steps.items():
            if record.active and under(inner, path):
                plan.step(inner, record.cancelled(now))
                self.stop_child(plan, record)
        own = plan.state.steps.get(path)
        if own is not None and own.status == StepStatus.WAITING:
            self.stop_child(plan, own)

    def stop_child(self, plan: RunPlan, record: StepRecord) -> None:
        """A workflow step's child run, while it waits for one, is cancelled too."""
        if record.child is not None and record.status == StepStatus.WAITING:
            now = self.planner.clock.now()
            plan.work.append(WorkItem(WorkKind.CANCEL_RUN, record.child, due=now))
