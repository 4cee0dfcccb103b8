"""Why a run or an agent is not progressing, in one answer; and their states in A2A terms.

An explanation lists what each active step waits on (a worker, a retry's delay, an agent,
a lease and its heartbeat, an answer, a child run) with the times that matter, and for an
agent, the tasks it holds, the tasks offered to it and how long it has been silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..definitions.workflow.template import TERMINAL_STATES
from ..model import Instance, Query
from .state import RunState, RunStatus, StepRecord, StepStatus
from .tasks import TaskService, TaskState


class A2AState(StrEnum):
    """A task's or a run's state as the A2A protocol names task states."""

    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input-required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"


_ENDED = {
    RunStatus.SUCCEEDED: A2AState.COMPLETED,
    RunStatus.FAILED: A2AState.FAILED,
    RunStatus.CANCELLED: A2AState.CANCELED,
}


class Waits(StrEnum):
    """What a step (or an agent) waits on."""

    ENDED = "ended"  # nothing: the run has ended
    WORKER = "worker"  # a queued attempt waits for a free worker (or a queue slot)
    RETRY = "retry"  # a failed attempt's retry is due later
    TIMER = "timer"  # a sleeping step wakes later
    RUNNING = "running"  # a worker runs the attempt now
    LEASE = "lease"  # an agent holds the task under a lease
    AGENT = "agent"  # a named agent has not reported
    CAPABILITY = "capability"  # no agent with the capability has claimed the task
    INPUT = "input"  # a person or a system has not answered
    CHILD = "child"  # a child run has not ended
    HEARTBEAT = "heartbeat"  # an agent's silence becomes a missed heartbeat later
    TASK = "task"  # an agent holds a task
    OFFER = "offer"  # a task waits for this agent


@dataclass(frozen=True)
class Reason:
    """One thing something waits on, said in a sentence, with the facts behind it."""

    waits: Waits
    message: str
    step: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Explanation:
    """Why a run or an agent is where it is."""

    subject: str
    state: str
    a2a_state: A2AState | None
    reasons: tuple[Reason, ...]


def run_a2a_state(run: Instance, state: RunState) -> A2AState:
    """The run as an A2A task: input-required while any step waits for an answer, working
    while any step runs or is held, submitted while its steps only wait for workers."""
    if run.state in TERMINAL_STATES:
        return _ENDED[RunStatus(run.state)]
    records = [r for r in state.steps.values() if r.active]
    if any(_is_input(r) for r in records):
        return A2AState.INPUT_REQUIRED
    if any(r.status == StepStatus.RUNNING or r.lease_token or r.child for r in records):
        return A2AState.WORKING
    if all(r.status == StepStatus.QUEUED or _is_offered(r) for r in records):
        return A2AState.SUBMITTED
    return A2AState.WORKING


class Explainer:
    """Explains runs and agents from their state, their tasks and the queue."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks
        self.runs = tasks.runs
        self.agents = tasks.runs.agents
        self.clock = tasks.clock
        self.queue = tasks.runs.lifecycle.store.queue

    def run(self, run_id: str) -> Explanation:
        """What the run's active steps wait on (RunNotFound otherwise)."""
        run = self.runs.get(run_id)
        state = self.runs.ledger.state(run)
        if run.state in TERMINAL_STATES:
            why = f"the run has ended: {run.state}"
            if state.error is not None:
                why += f" with {state.error.name}: {state.error.message}"
            reasons: tuple[Reason, ...] = (Reason(Waits.ENDED, why),)
        else:
            template = self.runs.ledger.template(run)
            parents = {p.rsplit("/", 2)[0] for p in state.steps if "/" in p}
            active = [(p, r) for p, r in state.steps.items() if r.active and p not in parents]
            claims = {p: template.step(p).agent_events.get("claim") for p, _ in active}
            reasons = tuple(self._step(path, record, claims[path]) for path, record in active)
        return Explanation(run.id, run.state, run_a2a_state(run, state), reasons)

    def agent(self, agent_id: str) -> Explanation:
        """The tasks the agent holds or is offered, and its heartbeat (AgentNotFound)."""
        agent = self.agents.get(agent_id)
        reasons = [self._held(t) for t in self.tasks.list(agent_id=agent_id)]
        offered = [t for c in agent.capabilities for t in self.tasks.list(capability=c)]
        free = [t for t in offered if t.state == TaskState.SUBMITTED]
        if free:
            message = f"{len(free)} task(s) wait for an agent with its capabilities"
            facts = {"tasks": [t.id for t in free], "allowed_events": self._allowed(agent)}
            reasons.append(Reason(Waits.OFFER, message, facts=facts))
        beat = self.agents.liveness.seen([agent_id]).get(agent_id)
        if beat is not None and beat.due is not None:
            reasons.append(self._heartbeat(beat.last_seen, beat.due, beat.reported))
        return Explanation(agent.id, agent.state, None, tuple(reasons))

    # ---- steps -----------------------------------------------------------------------------

    def _step(self, path: str, record: StepRecord, claim: str | None) -> Reason:
        now = self.clock.now()
        if record.status == StepStatus.QUEUED:
            return self._queued(path)
        if record.status == StepStatus.RETRYING:
            error = record.error.name if record.error else "an error"
            message = f"step {path} failed with {error}; it retries in {_ago(record.due, now)}"
            return Reason(Waits.RETRY, message, path, {"due": record.due})
        if record.status == StepStatus.SLEEPING:
            message = f"step {path} sleeps for another {_ago(record.due, now)}"
            return Reason(Waits.TIMER, message, path, {"due": record.due})
        if record.child is not None:
            return Reason(Waits.CHILD, f"step {path} waits for child run {record.child}", path)
        if record.status == StepStatus.WAITING:
            return self._waiting(path, record, now, claim)
        worker = record.attempts[-1].worker if record.attempts else None
        message = f"a worker ({worker or 'unknown'}) runs step {path} (attempt {record.attempt})"
        return Reason(Waits.RUNNING, message, path, {"worker": worker})

    def _queued(self, path: str) -> Reason:
        depth, capacity = self.queue.depth(), self.queue.capacity
        message = f"step {path} waits for a worker ({depth} of {capacity} queue slots in use)"
        if depth >= capacity:
            message += "; the queue is full"
        return Reason(Waits.WORKER, message, path, {"depth": depth, "capacity": capacity})

    def _waiting(self, path: str, record: StepRecord, now: float, claim: str | None) -> Reason:
        facts: dict[str, Any] = {"task": record.task}
        if record.lease_token is not None:
            heard = record.heartbeat_at or now
            message = (
                f"step {path} waits on task {record.task}, held by agent {record.agent_id}; "
                f"its last heartbeat was {_ago(now, heard)} ago and its lease ends in "
                f"{_ago(record.lease_until, now)}"
            )
            facts |= {"agent_id": record.agent_id, "lease_until": record.lease_until}
            return Reason(Waits.LEASE, message, path, facts | {"heartbeat_at": heard})
        if record.capability is not None:
            return self._unclaimed(path, record, facts, claim)
        if record.agent_id is not None:
            agent = self.agents.get(record.agent_id)
            message = (
                f"step {path} waits for agent {record.agent_id} (in state {agent.state}) "
                f"to report task {record.task}"
            )
            return Reason(Waits.AGENT, message, path, facts | {"agent_id": record.agent_id})
        message = f"step {path} waits for input: an answer to task {record.task}"
        return Reason(Waits.INPUT, message, path, facts | {"schema": (record.request or {})})

    def _unclaimed(
        self, path: str, record: StepRecord, facts: dict[str, Any], claim: str | None
    ) -> Reason:
        """Who could take a capability task: agents with the capability whose machine allows
        the claim event now are free; the others are named with their state."""
        capable = self.agents.list(Query(capability=record.capability, limit=50)).items
        free = [a.id for a in capable if claim is None or claim in self._allowed(a)]
        if not capable:
            who = f"no agent has capability {record.capability}"
        elif not free:
            states = ", ".join(f"{a.id} ({a.state})" for a in capable[:10])
            who = f"no agent with capability {record.capability} is free: {states}"
        else:
            who = f"free agents with capability {record.capability}: {', '.join(free[:10])}"
        message = f"step {path} waits on task {record.task}: {who}"
        facts |= {"capability": record.capability, "agents": free}
        return Reason(Waits.CAPABILITY, message, path, facts)

    # ---- agents ----------------------------------------------------------------------------

    def _held(self, task: Any) -> Reason:
        now = self.clock.now()
        record = task.record
        if record.lease_token is None:
            message = f"task {task.id} (run {task.run.id}, step {task.step}) waits for it"
            return Reason(Waits.OFFER, message, task.step, {"task": task.id})
        message = (
            f"holds task {task.id} (run {task.run.id}, step {task.step}); its lease ends in "
            f"{_ago(record.lease_until, now)}"
        )
        return Reason(Waits.TASK, message, task.step, {"task": task.id})

    def _heartbeat(self, last_seen: float, due: float, reported: bool) -> Reason:
        now = self.clock.now()
        if reported:
            message = f"silent for {_ago(now, last_seen)}: its missed heartbeat was reported"
        else:
            message = f"last seen {_ago(now, last_seen)} ago; silence is a miss in {_ago(due, now)}"
        return Reason(Waits.HEARTBEAT, message, facts={"last_seen": last_seen, "due": due})

    def _allowed(self, agent: Instance) -> list[str]:
        return list(self.agents.allowed_events(agent))


def _is_input(record: StepRecord) -> bool:
    waits = record.status == StepStatus.WAITING and record.task is not None
    return waits and record.agent_id is None and record.capability is None


def _is_offered(record: StepRecord) -> bool:
    return record.status == StepStatus.WAITING and record.lease_token is None


def _ago(later: float | None, earlier: float) -> str:
    """A duration between two times, said as people say it."""
    seconds = max(0.0, (later or earlier) - earlier)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
