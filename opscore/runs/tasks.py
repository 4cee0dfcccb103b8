"""Tasks: every step that waits for an agent (named, or any with a capability) or for an
answer (an input step), with its own id; claimed with a lease, renewed by heartbeats, and
reported with the lease's token.

A task lives in its run's state (the step's record says who holds it, with which token,
until when), so a claim, a report or a lapse is one commit of the run, revision-checked
across processes: two agents claiming at once never get the same task, and the claiming
agent's machine moves in the same commit (linked events).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from jsonschema import validators

from ..definitions.workflow.retry import HEARTBEAT_TIMEOUT
from ..definitions.workflow.template import Step
from ..errors import AgentEnded, InvalidRequest, LeaseLost, NotFound, TaskNotFound
from ..model import Instance, Query
from ..services.idempotency import IdempotentRequest
from ..services.lifecycle import Fired, LinkedEvent
from ..services.validation import check_json
from ..store.work import WorkItem, WorkKind
from .fanout import note
from .planner import RunPlan
from .planner import task_id as task_id_of
from .service import RunService
from .state import INPUT, OFFERED, RunState, StepRecord, StepStatus

DEFAULT_LEASE = 60.0  # seconds a claim lasts when the step sets no `lease`
MAX_WAIT = 20.0  # seconds a claim may wait for a task (it holds a server thread meanwhile)
CANDIDATES = 20  # runs looked at per kind of task, per round of a claim


class TaskState(StrEnum):
    """A task as A2A names a task's state (docs/agents.md has the table)."""

    SUBMITTED = "submitted"  # waiting for an agent to claim it
    WORKING = "working"  # claimed: an agent holds it
    INPUT_REQUIRED = "input-required"  # waiting for an answer from a person or a system


@dataclass(frozen=True)
class Task:
    """A step waiting for an agent or an answer, as agents see it."""

    id: str
    run: Instance
    step: str
    record: StepRecord

    @property
    def state(self) -> TaskState:
        """submitted, working or input-required."""
        if self.record.lease_token is not None:
            return TaskState.WORKING
        if self.record.agent_id is None and self.record.capability is None:
            return TaskState.INPUT_REQUIRED
        return TaskState.SUBMITTED


class TaskService:
    """Claims, heartbeats and reports of tasks; lapsed claims fail their attempt."""

    def __init__(self, runs: RunService) -> None:
        self.runs = runs
        self.liveness = runs.agents.liveness
        self.ledger = runs.ledger
        self.planner = runs.planner
        self.clock = runs.lifecycle.clock

    # ---- looking ---------------------------------------------------------------------------

    def get(self, task_id: str) -> Task:
        """The task (TaskNotFound unless it waits)."""
        run = self._run_of(task_id)
        found = self._find(self.ledger.state(run), task_id)
        if found is None:
            raise TaskNotFound(task_id)
        return Task(task_id, run, *found)

    def list(
        self,
        capability: str | None = None,
        agent_id: str | None = None,
        state: TaskState | None = None,
        limit: int = 500,
    ) -> list[Task]:
        """Waiting tasks, oldest run first, filtered by capability, holder and state."""
        key = _key(capability, agent_id, state)
        query = Query(waiting_for=key, limit=limit) if key else Query(limit=limit)
        tasks = []
        for run in self.runs.list(query).items:
            for path, record in self.ledger.state(run).steps.items():
                if record.task is None or record.status != StepStatus.WAITING:
                    continue
                task = Task(record.task, run, path, record)
                if _matches(task, capability, agent_id, state):
                    tasks.append(task)
        return tasks

    # ---- claiming --------------------------------------------------------------------------

    def claim(
        self, agent_id: str, wait: float = 0.0, idempotency: IdempotentRequest | None = None
    ) -> tuple[Task, str] | None:
        """A task the agent may take, held with a fresh lease (and its token), or None after
        `wait` seconds (at most MAX_WAIT) when none came. With `idempotency`, the claim's
        answer (rendered from the (task, token) pair) is kept in the claim's own commit."""
        agent = self.runs.agents.get(agent_id)
        if self.runs.lifecycle.is_final(agent):
            raise AgentEnded(agent_id, agent.state)
        self.liveness.seen_now(agent)  # asking for work proves the agent alive
        keys = [agent_id, *(f"{OFFERED}{c}" for c in agent.capabilities)]
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT)
        store = self.runs.lifecycle.store
        while True:
            newest = store.feed_bounds()[1]
            claimed = self._claim_once(agent, keys, idempotency)
            left = deadline - time.monotonic()
            if claimed is not None or left <= 0:
                return claimed
            store.wait_for_feed(newest, min(left, 1.0))  # any commit may have offered a task

    def _claim_once(
        self, agent: Instance, keys: list[str], idempotency: IdempotentRequest | None
    ) -> tuple[Task, str] | None:
        for key in keys:
            for run in self.runs.list(Query(waiting_for=key, limit=CANDIDATES)).items:
                claimed = self._claim_in(run.id, agent, idempotency)
                if claimed is not None:
                    return claimed
        return None

    def _claim_in(
        self, run_id: str, agent: Instance, idempotency: IdempotentRequest | None
    ) -> tuple[Task, str] | None:
        allowed = set(self.runs.agents.allowed_events(agent))
        token = secrets.token_urlsafe(24)
        taken: list[tuple[str, StepRecord]] = []

        def plan(run: Instance, state: RunState) -> RunPlan | None:
            template = self.ledger.template(run)
            for path, record in state.steps.items():
                step = template.step(path)
                event = step.agent_events.get("claim") if record.capability else None
                if _claimable(record, agent) and (event is None or event in allowed):
                    made = self._claimed(run, state, path, step, agent.id, token, event)
                    taken[:] = [(path, made.state.steps[path])]
                    return made
            return None

        def claimed(run: Instance) -> tuple[Task, str]:
            path, record = taken[0]
            return Task(record.task, run, path, record), token

        def render(fired: Fired) -> Any:
            return idempotency.render(claimed(fired.instance))

        kept = replace(idempotency, render=render) if idempotency is not None else None
        fired = self.ledger.commit(run_id, plan, kept)
        return None if fired is None else claimed(fired.instance)

    def _claimed(
        self,
        run: Instance,
        state: RunState,
        path: str,
        step: Step,
        agent_id: str,
        token: str,
        event: str | None,
    ) -> RunPlan:
        now = self.clock.now()
        lease = step.lease or DEFAULT_LEASE
        record = state.steps[path].claimed(agent_id, token, now, lease)
        plan = RunPlan(state)
        plan.step(path, record)
        plan.work.append(WorkItem(WorkKind.TASK_LEASE, run.id, path, record.attempt, now + lease))
        plan.notes.append(note(path, record, "claimed", agent_id=agent_id, task=record.task))
        if event is not None:
            plan.linked.append(_agent_event(agent_id, event, run, record, required=True))
        return plan

    def hold(self, task_id: str, agent_id: str) -> tuple[Task, str] | None:
        """The named agent's task held for it (a push delivers it with the token): claimed
        now, or its claim renewed if it holds it already; None once the task is gone or is
        another agent's."""
        run = self._run_of(task_id)

        def plan(run: Instance, state: RunState) -> RunPlan | None:
            found = self._find(state, task_id)
            if found is None or found[1].capability is not None or found[1].agent_id != agent_id:
                return None
            path, record = found
            step = self.ledger.template(run).step(path)
            if record.lease_token is None:
                token = secrets.token_urlsafe(24)
                return self._claimed(run, state, path, step, agent_id, token, None)
            renewed = RunPlan(state)
            renewed.step(path, record.renewed(self.clock.now(), step.lease or DEFAULT_LEASE))
            return renewed

        fired = self.ledger.commit(run.id, plan)
        if fired is None:
            return None
        path, record = self._find(self.ledger.state(fired.instance), task_id) or (None, None)
        if record is None or record.lease_token is None:
            return None
        return Task(task_id, fired.instance, path, record), record.lease_token

    # ---- holding and reporting -------------------------------------------------------------

    def heartbeat(self, task_id: str, token: str) -> Task:
        """The holder is alive: its claim lasts another lease (LeaseLost if it lost it)."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            path, record = self._held(state, task_id, token)
            lease = self.ledger.template(run).step(path).lease or DEFAULT_LEASE
            renewed = RunPlan(state)
            renewed.step(path, record.renewed(self.clock.now(), lease))
            return renewed

        self.ledger.commit(self._run_of(task_id).id, plan)
        task = self.get(task_id)
        if task.record.agent_id is not None:  # a task heartbeat is the holder's heartbeat
            self.liveness.seen_now(self.runs.agents.get(task.record.agent_id))
        return task

    def release_held_by(self, agent_id: str) -> int:
        """The agent was lost: the tasks it holds go back to the queue, their leases void
        (a late report with the old token is a 409). The number released."""
        released = 0
        for task in self.list(agent_id=agent_id, state=TaskState.WORKING):

            def plan(run: Instance, state: RunState, task: Task = task) -> RunPlan | None:
                record = state.step(task.step)
                if record is None or record.lease_token != task.record.lease_token:
                    return None
                back = RunPlan(state)
                back.step(task.step, record.released())
                back.notes.append(note(task.step, record, "released", agent_id=agent_id))
                return back

            released += self.ledger.commit(task.run.id, plan) is not None
        return released

    def complete(self, task_id: str, token: str | None, output: Any) -> Fired:
        """The task is done with `output`: its step succeeds; its holder is released."""
        output = check_json(output, "output", self.runs.lifecycle.limits)

        def plan(run: Instance, state: RunState) -> RunPlan:
            path, record = self._reported(run, state, task_id, token, output)
            made = self.planner.succeeded(run, state, path, output)
            return self._release(run, made, path, record, "complete")

        return self.ledger.commit(self._run_of(task_id).id, plan)

    def fail(self, task_id: str, token: str | None, error: str, message: str) -> Fired:
        """The task failed: its step's retriers and catchers apply; its holder is released."""

        def plan(run: Instance, state: RunState) -> RunPlan:
            path, record = self._reported(run, state, task_id, token, None)
            made = self.planner.failed(run, state, path, error, message)
            return self._release(run, made, path, record, "fail")

        return self.ledger.commit(self._run_of(task_id).id, plan)

    def lapse(self, item: WorkItem) -> Fired | None:
        """A claim's lease may have run out: if it has, the attempt fails with
        States.HeartbeatTimeout (the step's retriers then offer the task again); if the
        holder renewed it, look again when the new lease ends."""

        def plan(run: Instance, state: RunState) -> RunPlan | None:
            record = state.step(item.step)
            if record is None or record.attempt != item.attempt or record.lease_until is None:
                return None
            if record.status != StepStatus.WAITING:
                return None
            if record.lease_until > self.clock.now():
                due = record.lease_until
                return RunPlan(state, work=[replace(item, due=due, id=None, redelivered=False)])
            message = f"agent {record.agent_id} sent no heartbeat within its lease"
            made = self.planner.failed(run, state, item.step, HEARTBEAT_TIMEOUT, message)
            return self._release(run, made, item.step, record, "fail")

        return self.ledger.commit(item.run_id, plan)

    # ---- helpers ---------------------------------------------------------------------------

    def _release(
        self, run: Instance, made: RunPlan, path: str, record: StepRecord, outcome: str
    ) -> RunPlan:
        """A capability task's holder moves (complete or fail) in the commit that settles it."""
        if record.capability is not None and record.agent_id is not None:
            event = self.ledger.template(run).step(path).agent_events.get(outcome)
            if event is not None:
                made.linked.append(_agent_event(record.agent_id, event, run, record))
        return made

    def _reported(
        self, run: Instance, state: RunState, task_id: str, token: str | None, output: Any
    ) -> tuple[str, StepRecord]:
        """The task a report is for: held with `token`, or an input task (whose answer must
        satisfy its schema)."""
        found = self._find(state, task_id)
        if found is None:
            raise _gone(state, task_id)
        path, record = found
        if record.agent_id is None and record.capability is None:  # an input task
            if output is not None:
                _check_answer(task_id, record.request or {}, output)
            return path, record
        return self._held(state, task_id, token)

    def _held(self, state: RunState, task_id: str, token: str | None) -> tuple[str, StepRecord]:
        found = self._find(state, task_id)
        if found is None:
            raise _gone(state, task_id)
        path, record = found
        held = record.lease_token
        if held is None or not secrets.compare_digest(held.encode(), (token or "").encode()):
            raise LeaseLost(task_id)
        return path, record

    @staticmethod
    def _find(state: RunState, task_id: str) -> tuple[str, StepRecord] | None:
        for path, record in state.steps.items():
            if record.task == task_id and record.status == StepStatus.WAITING:
                return path, record
        return None

    def _run_of(self, task_id: str) -> Instance:
        """The run a task belongs to: its id is the run's, a dot, and a digest."""
        try:
            return self.ledger.get(task_id.split(".", 1)[0])
        except NotFound:
            raise TaskNotFound(task_id) from None


def _gone(state: RunState, task_id: str) -> TaskNotFound | LeaseLost:
    """Why a report finds no waiting task: one that was an earlier attempt of a step (its
    holder lost it: a 409, the fencing answer) or one the run never had (404)."""
    run_id = task_id.split(".", 1)[0]
    for path, record in state.steps.items():
        if any(task_id == task_id_of(run_id, path, n) for n in range(1, record.attempt + 1)):
            return LeaseLost(task_id)
    return TaskNotFound(task_id)


def _claimable(record: StepRecord, agent: Instance) -> bool:
    """Whether `agent` may claim the step's task now."""
    if record.status != StepStatus.WAITING or record.task is None or record.lease_token:
        return False
    if record.capability is not None:
        return record.agent_id is None and record.capability in agent.capabilities
    return record.agent_id == agent.id


def _agent_event(
    agent_id: str, event: str, run: Instance, record: StepRecord, required: bool = False
) -> LinkedEvent:
    data = {"run_id": run.id, "task": record.task}
    return LinkedEvent("agent", agent_id, event, data, required=required)


def _check_answer(task_id: str, request: Mapping[str, Any], output: Any) -> None:
    """An input task's answer must satisfy the step's schema (422 naming where it does not)."""
    schema = request.get("schema") or {}
    problems = sorted(validators.validator_for(schema)(schema).iter_errors(output), key=str)
    if problems:
        where = "/".join(map(str, problems[0].path)) or "output"
        raise InvalidRequest(
            f"the answer to task '{task_id}' does not match its schema at {where}: "
            f"{problems[0].message}",
            "output",
        )


def _key(capability: str | None, agent_id: str | None, state: TaskState | None) -> str | None:
    """What a listing's filters let the store find runs by."""
    if agent_id is not None:
        return agent_id
    if capability is not None:
        return f"{OFFERED}{capability}"
    return INPUT if state == TaskState.INPUT_REQUIRED else None


def _matches(
    task: Task, capability: str | None, agent_id: str | None, state: TaskState | None
) -> bool:
    return (
        (capability is None or task.record.capability == capability)
        and (agent_id is None or task.record.agent_id == agent_id)
        and (state is None or task.state == state)
    )
