"""A run's state as typed, immutable records: its input, each step's record with its
attempts, the branches and map items it runs, its output or error, and the run that
started it. Records change only through their own methods, each of which returns a new
record; JSON is made and read only at the store's edge (`to_json`, `from_json`).

Steps and branches are keyed by path (`fetch`, `fan_out/research`, `fan_out/research/
search`, `each_doc/3/summarize`). A step record also holds the step's current attempt (its
number, and while it waits, what for), so "what a flow is doing" is the record of the
step it is at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

MAX_ATTEMPTS_KEPT = 50
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_CACHED = ("_json", "_steps_json", "_branches_json")
# What an attempt that ends no longer holds: who it waited for, what for, and its claim.
_ENDED = dict.fromkeys(
    ("agent_id", "request", "result", "task", "capability", "lease_token", "lease_until"), None
) | {"todo": (), "running": 0, "heartbeat_at": None}


def _copy(record: Any, **changes: Any) -> Any:
    """A copy of a frozen record with `changes`, without its cached JSON.

    `dataclasses.replace` runs `__init__` again; this copies the fields as they are, about
    five times faster, which counts on the hot path (a map of 100 items makes some 1,300
    copies; `make bench`, the map row)."""
    new = object.__new__(type(record))
    fields = new.__dict__
    fields.update(record.__dict__)
    for cached in _CACHED:
        fields.pop(cached, None)
    fields.update(changes)
    return new


class StepStatus(StrEnum):
    """Where a step is: waiting to start, in progress, or ended."""

    QUEUED = "queued"  # its attempt waits for a worker
    RETRYING = "retrying"  # its next attempt waits for its retry delay
    RUNNING = "running"  # a worker runs its attempt
    WAITING = "waiting"  # its attempt waits for an agent's report
    SLEEPING = "sleeping"  # its attempt waits for time to pass
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


STARTABLE = frozenset({StepStatus.QUEUED, StepStatus.RETRYING})
IN_PROGRESS = frozenset({StepStatus.RUNNING, StepStatus.WAITING, StepStatus.SLEEPING})


class Outcome(StrEnum):
    """How an attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BranchStatus(StrEnum):
    """A parallel branch or a map item: running, or ended one of three ways."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    """A run as a whole: still running, or ended one of three ways."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Failure:
    """A named error; `step` says where, for the error a run failed with or a catcher caught."""

    name: str
    message: str
    step: str | None = None

    def at(self, step: str) -> Failure:
        """The same error, placed at `step`."""
        return _copy(self, step=step)

    def to_json(self) -> dict[str, Any]:
        """{name, message} and, when placed, step."""
        data = {"name": self.name, "message": self.message}
        if self.step is not None:
            data["step"] = self.step
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Failure | None:
        """The error `data` holds, if any."""
        if not data:
            return None
        return cls(data["name"], data.get("message", ""), data.get("step"))


@dataclass(frozen=True)
class Attempt:
    """One attempt of a step: when it started (on which worker) and how it ended."""

    number: int
    started_at: float
    worker: str | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    error: Failure | None = None
    output: Any = None  # its output, when it succeeded
    retry_in: float | None = None  # the delay before the retry it led to

    def ended(
        self,
        now: float,
        outcome: Outcome,
        *,
        error: Failure | None = None,
        output: Any = None,
        retry_in: float | None = None,
    ) -> Attempt:
        """This attempt, ended at `now`."""
        return _copy(
            self, ended_at=now, outcome=outcome, error=error, output=output, retry_in=retry_in
        )

    def to_json(self) -> dict[str, Any]:
        """The attempt as stored."""
        data: dict[str, Any] = {"attempt": self.number, "started_at": self.started_at}
        if self.worker:
            data["worker"] = self.worker
        if self.ended_at is not None:
            data["ended_at"] = self.ended_at
        if self.outcome is not None:
            data["outcome"] = str(self.outcome)
        if self.error is not None:
            data["error"] = self.error.to_json()
        if self.outcome == Outcome.SUCCEEDED:
            data["output"] = self.output
        if self.retry_in is not None:
            data["retry_in"] = self.retry_in
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attempt:
        """The attempt `data` holds."""
        outcome = data.get("outcome")
        return cls(
            number=data["attempt"],
            started_at=data["started_at"],
            worker=data.get("worker"),
            ended_at=data.get("ended_at"),
            outcome=Outcome(outcome) if outcome else None,
            error=Failure.from_json(data.get("error")),
            output=data.get("output"),
            retry_in=data.get("retry_in"),
        )


@dataclass(frozen=True)
class StepRecord:
    """A step the run has entered: its status, its attempts (the last MAX_ATTEMPTS_KEPT),
    the retries used per retrier, its last output and error, and its current attempt."""

    status: StepStatus
    attempt: int  # the number of the current (or last) attempt
    attempts: tuple[Attempt, ...] = ()
    dropped: int = 0  # attempts no longer kept
    retries: tuple[int, ...] = ()
    output: Any = None
    error: Failure | None = None
    due: float | None = None  # retrying: when the next attempt is due
    agent_id: str | None = None  # waiting: the agent whose report it waits for
    request: Mapping[str, Any] | None = None  # waiting: what the agent was asked
    result: Any = None  # sleeping: the output it finishes with
    items: tuple[Any, ...] | None = None  # map: the list it runs over, read when it began
    todo: tuple[int, ...] = ()  # map: the items this attempt has still to start
    running: int = 0  # map: items of this attempt running now (kept, not counted: O(1))
    child: str | None = None  # workflow: the child run of the current attempt
    task: str | None = None  # waiting for an agent or an answer: the task's id
    capability: str | None = None  # waiting for any agent with this capability
    lease_token: str | None = None  # claimed: the token every report must carry
    lease_until: float | None = None  # claimed: when the claim lapses unless renewed
    heartbeat_at: float | None = None  # claimed: the holder's last sign of life

    @classmethod
    def entered(cls, previous: StepRecord | None) -> StepRecord:
        """The record of a step the run (re-)enters: a new attempt is queued; earlier
        attempts, output and error stay (a step entered again keeps its history)."""
        if previous is None:
            return cls(StepStatus.QUEUED, attempt=1)
        number = len(previous.attempts) + previous.dropped + 1
        return _copy(
            previous,
            status=StepStatus.QUEUED,
            attempt=number,
            retries=(),
            due=None,
            agent_id=None,
            request=None,
            result=None,
            items=None,
            todo=(),
            child=None,
            task=None,
            capability=None,
            lease_token=None,
            lease_until=None,
            heartbeat_at=None,
        )

    @property
    def in_progress(self) -> bool:
        """Whether an attempt is running, waiting or sleeping."""
        return self.status in IN_PROGRESS

    @property
    def active(self) -> bool:
        """Whether an attempt is queued, retrying or in progress."""
        return self.status in STARTABLE or self.status in IN_PROGRESS

    def started(self, now: float, worker: str | None, status: StepStatus) -> StepRecord:
        """The current attempt started at `now` (on `worker`) and is now `status`."""
        attempts = (*self.attempts, Attempt(self.attempt, now, worker))
        extra = len(attempts) - MAX_ATTEMPTS_KEPT
        dropped = self.dropped + max(0, extra)
        return _copy(
            self, status=status, attempts=attempts[max(0, extra) :], dropped=dropped, due=None
        )

    def waiting(
        self,
        agent_id: str | None,
        request: Mapping[str, Any],
        task: str | None = None,
        capability: str | None = None,
    ) -> StepRecord:
        """The attempt is now a task: it waits for `agent_id` (or any agent with `capability`,
        or, with neither, an answer) to report."""
        return _copy(
            self,
            status=StepStatus.WAITING,
            agent_id=agent_id,
            request=dict(request),
            task=task,
            capability=capability,
        )

    def claimed(self, agent_id: str, token: str, now: float, lease: float) -> StepRecord:
        """The task is held by `agent_id` until `now + lease` unless it renews its claim."""
        return _copy(
            self, agent_id=agent_id, lease_token=token, lease_until=now + lease, heartbeat_at=now
        )

    def released(self) -> StepRecord:
        """The holder was lost: nobody holds the task; a capability task is offered again."""
        holder = None if self.capability is not None else self.agent_id
        return _copy(self, agent_id=holder, lease_token=None, lease_until=None, heartbeat_at=None)

    def renewed(self, now: float, lease: float) -> StepRecord:
        """The holder is alive: its claim lasts `lease` from now."""
        return _copy(self, lease_until=now + lease, heartbeat_at=now)

    def waiting_for_child(self, child: str, input_data: Mapping[str, Any]) -> StepRecord:
        """The attempt now waits for its child run `child` (started with `input_data`)."""
        return _copy(self, status=StepStatus.WAITING, child=child, request=dict(input_data))

    def mapping(self, items: tuple[Any, ...], todo: tuple[int, ...]) -> StepRecord:
        """The map attempt runs over `items`; `todo` lists those it has still to start."""
        return _copy(self, items=items, todo=todo, running=0)

    def started_items(self, count: int) -> StepRecord:
        """The first `count` items of `todo` have started."""
        return _copy(self, todo=self.todo[count:], running=self.running + count)

    def item_ended(self) -> StepRecord:
        """One of the attempt's running items has ended."""
        return _copy(self, running=max(0, self.running - 1))

    def sleeping(self, result: Any) -> StepRecord:
        """The attempt now waits for time to pass, then succeeds with `result`."""
        return _copy(self, status=StepStatus.SLEEPING, result=result)

    def ended(
        self,
        now: float,
        outcome: Outcome,
        *,
        output: Any = None,
        error: Failure | None = None,
        retry_in: float | None = None,
    ) -> StepRecord:
        """The current attempt ended: the step takes its outcome, output or error."""
        attempts = self.attempts
        if attempts and attempts[-1].number == self.attempt and attempts[-1].ended_at is None:
            last = attempts[-1].ended(now, outcome, error=error, output=output, retry_in=retry_in)
            attempts = (*attempts[:-1], last)
        changes: dict[str, Any] = {"status": StepStatus(outcome), "attempts": attempts}
        if outcome == Outcome.SUCCEEDED:
            changes.update(output=output, error=None)  # its attempts keep their errors
        if error is not None:
            changes["error"] = error
        return _copy(self, **_ENDED, **changes)

    def cancelled(self, now: float) -> StepRecord:
        """The step is stopped: an attempt in progress ends cancelled, a queued one never runs."""
        if self.in_progress:
            return self.ended(now, Outcome.CANCELLED)
        return _copy(self, status=StepStatus.CANCELLED, due=None)

    def retrying(self, due: float, retries: tuple[int, ...]) -> StepRecord:
        """The next attempt waits for its retry delay, until `due`."""
        return _copy(
            self, status=StepStatus.RETRYING, attempt=self.attempt + 1, due=due, retries=retries
        )

    def open_attempt(self) -> Attempt | None:
        """The current attempt, if it has started and not ended."""
        last = self.attempts[-1] if self.attempts else None
        if last is None or last.number != self.attempt or last.ended_at is not None:
            return None
        return last

    def attempt_numbered(self, number: int) -> Attempt | None:
        """The kept attempt with this number, if any."""
        return next((a for a in reversed(self.attempts) if a.number == number), None)

    def to_json(self) -> dict[str, Any]:
        """The record as stored (made once per record: a run's commit writes every record,
        and most are the ones it had; treat the result as read-only)."""
        return self._json

    @cached_property
    def _json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": str(self.status),
            "attempt": self.attempt,
            "attempts": [a.to_json() for a in self.attempts],
            "retries": list(self.retries),
        }
        optional = {
            "dropped": self.dropped or None,
            "error": self.error.to_json() if self.error else None,
            "due": self.due,
            "agent_id": self.agent_id,
            "request": dict(self.request) if self.request is not None else None,
            "items": list(self.items) if self.items is not None else None,
            "todo": list(self.todo) or None,
            "running": self.running or None,
            "child": self.child,
            "task": self.task,
            "capability": self.capability,
            "lease_token": self.lease_token,
            "lease_until": self.lease_until,
            "heartbeat_at": self.heartbeat_at,
        }
        data.update((key, value) for key, value in optional.items() if value is not None)
        if self.status == StepStatus.SUCCEEDED or self.output is not None:
            data["output"] = self.output
        if self.status == StepStatus.SLEEPING:
            data["result"] = self.result
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRecord:
        """The record `data` holds."""
        attempts = tuple(Attempt.from_json(a) for a in data.get("attempts", ()))
        dropped = data.get("dropped", 0)
        return cls(
            status=StepStatus(data["status"]),
            attempt=data.get("attempt", len(attempts) + dropped),
            attempts=attempts,
            dropped=dropped,
            retries=tuple(data.get("retries") or ()),
            output=data.get("output"),
            error=Failure.from_json(data.get("error")),
            due=data.get("due"),
            agent_id=data.get("agent_id"),
            request=data.get("request"),
            result=data.get("result"),
            items=tuple(data["items"]) if data.get("items") is not None else None,
            todo=tuple(data.get("todo") or ()),
            running=data.get("running", 0),
            child=data.get("child"),
            task=data.get("task"),
            capability=data.get("capability"),
            lease_token=data.get("lease_token"),
            lease_until=data.get("lease_until"),
            heartbeat_at=data.get("heartbeat_at"),
        )


@dataclass(frozen=True)
class Branch:
    """A parallel branch or a map item the run has started: the step its flow is at, how
    it ended, its output (its last step's), and the error it caught or failed with."""

    at: str | None
    status: BranchStatus = BranchStatus.RUNNING
    output: Any = None
    error: Failure | None = None

    def moved(self, at: str) -> Branch:
        """The branch's flow is now at step `at`."""
        return _copy(self, at=at)

    def ended(self, status: BranchStatus, output: Any = None) -> Branch:
        """The branch ended (with its last step's output, when it succeeded)."""
        return _copy(self, at=None, status=status, output=output)

    def caught(self, error: Failure) -> Branch:
        """A catcher in the branch moved on from `error`."""
        return _copy(self, error=error)

    def to_json(self) -> dict[str, Any]:
        """The branch as stored (made once per record; read-only)."""
        return self._json

    @cached_property
    def _json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": str(self.status)}
        if self.at is not None:
            data["at"] = self.at
        if self.status == BranchStatus.SUCCEEDED:
            data["output"] = self.output
        if self.error is not None:
            data["error"] = self.error.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Branch:
        """The branch `data` holds."""
        return cls(
            data.get("at"),
            BranchStatus(data["status"]),
            data.get("output"),
            Failure.from_json(data.get("error")),
        )


@dataclass(frozen=True)
class ParentRef:
    """The step of another run that started this one as its child."""

    run_id: str
    step: str
    attempt: int

    def to_json(self) -> dict[str, Any]:
        """{run_id, step, attempt}."""
        return {"run_id": self.run_id, "step": self.step, "attempt": self.attempt}


@dataclass(frozen=True)
class RunState:
    """Everything a run knows besides its machine state: input, steps, output, error."""

    input: Mapping[str, Any]
    steps: Mapping[str, StepRecord] = field(default_factory=lambda: _EMPTY)
    branches: Mapping[str, Branch] = field(default_factory=lambda: _EMPTY)
    output: Any = None
    error: Failure | None = None
    parent: ParentRef | None = None

    def step(self, path: str) -> StepRecord | None:
        """The record of the step at `path`, if the run has entered it."""
        return self.steps.get(path)

    def with_step(self, path: str, record: StepRecord) -> RunState:
        """The state with one step's record replaced."""
        new = self._evolve(steps={**self.steps, path: record})
        cached = self.__dict__.get("_steps_json")
        if cached is not None:  # one record changed: the others' JSON is kept as it was
            new.__dict__["_steps_json"] = {**cached, path: record.to_json()}
        return new

    def with_branch(self, path: str, branch: Branch) -> RunState:
        """The state with one branch's record replaced."""
        new = self._evolve(branches={**self.branches, path: branch})
        cached = self.__dict__.get("_branches_json")
        if cached is not None:
            new.__dict__["_branches_json"] = {**cached, path: branch.to_json()}
        return new

    def _evolve(self, **changes: Any) -> RunState:
        """A copy with `changes`, keeping the JSON made of what the changes leave alone."""
        new = _copy(self, **changes)
        for part in ("steps", "branches"):
            cached = self.__dict__.get(f"_{part}_json")
            if part not in changes and cached is not None:
                new.__dict__[f"_{part}_json"] = cached
        return new

    @cached_property
    def _steps_json(self) -> dict[str, Any]:
        return {path: record.to_json() for path, record in self.steps.items()}

    @cached_property
    def _branches_json(self) -> dict[str, Any]:
        return {path: branch.to_json() for path, branch in self.branches.items()}

    def branches_of(self, path: str) -> dict[str, Branch]:
        """The branches (or map items) of the step at `path`, by branch name or item index."""
        prefix = path + "/"
        return {
            scope[len(prefix) :]: branch
            for scope, branch in self.branches.items()
            if scope.startswith(prefix) and "/" not in scope[len(prefix) :]
        }

    def without_branches(self, under: str) -> RunState:
        """The state without the branches of the step at `under` (it starts afresh)."""
        prefix = under + "/"
        kept = {path: b for path, b in self.branches.items() if not path.startswith(prefix)}
        return self._evolve(branches=kept) if len(kept) != len(self.branches) else self

    def succeeded(self, output: Any) -> RunState:
        """The run ended with `output`; an error a catcher moved on from is not the run's
        (the step that raised it keeps it, in its record and its attempts)."""
        return self._evolve(output=output, error=None)

    def failed(self, error: Failure) -> RunState:
        """The run (or the step a catcher moved on from) failed with `error`."""
        return self._evolve(error=error)

    def without_error(self) -> RunState:
        """The state of a run that starts over from its failure (a redrive)."""
        return self._evolve(error=None)

    def renamed(self, paths: Callable[[str], str]) -> RunState:
        """The state with each step's and branch's path, and the step its error names,
        passed through `paths` (an upgrade's renamed steps)."""
        error = self.error
        if error is not None and error.step is not None:
            error = error.at(paths(error.step))
        return self._evolve(
            steps={paths(path): record for path, record in self.steps.items()},
            branches={paths(path): branch for path, branch in self.branches.items()},
            error=error,
        )

    def pending(self, at: str) -> StepRecord | None:
        """The record of step `at` (where the run is) while an attempt of it is active."""
        record = self.steps.get(at)
        return record if record is not None and record.active else None

    def waiting_for(self) -> tuple[str, ...]:
        """Whom the run's tasks wait for, each once, sorted: agents by id, `@capability` for
        an unclaimed task any agent with it may claim, `!input` for an answer."""
        return tuple(sorted({who for r in self.steps.values() for who in _waits_for(r)}))

    def to_json(self) -> dict[str, Any]:
        """The state as the store keeps it (a run instance's `context`)."""
        data: dict[str, Any] = {"input": dict(self.input), "steps": self._steps_json}
        if self.branches:
            data["branches"] = self._branches_json
        if self.output is not None:
            data["output"] = self.output
        if self.error is not None:
            data["error"] = self.error.to_json()
        if self.parent is not None:
            data["parent"] = self.parent.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        """The state a run instance's `context` holds (written by this or an earlier version,
        which kept the current attempt apart, under `pending`)."""
        steps = {path: StepRecord.from_json(r) for path, r in data.get("steps", {}).items()}
        pending = data.get("pending")
        if pending and pending["step"] in steps:
            steps[pending["step"]] = _with_legacy_pending(steps[pending["step"]], pending)
        parent = data.get("parent")
        return cls(
            input=data.get("input", {}),
            steps=steps,
            branches={p: Branch.from_json(b) for p, b in data.get("branches", {}).items()},
            output=data.get("output"),
            error=Failure.from_json(data.get("error")),
            parent=ParentRef(**parent) if parent else None,
        )


def _with_legacy_pending(record: StepRecord, pending: Mapping[str, Any]) -> StepRecord:
    """Fold the `pending` of the earlier layout into its step's record."""
    return _copy(
        record,
        status=StepStatus(pending["status"]),
        attempt=pending["attempt"],
        due=pending.get("due"),
        agent_id=pending.get("agent_id"),
        request=pending.get("request"),
        result=pending.get("result"),
    )


OFFERED = "@"  # before a capability in `waiting_for`: a task any agent with it may claim
INPUT = "!input"  # in `waiting_for`: a task that waits for an answer (no agent)


def _waits_for(record: StepRecord) -> tuple[str, ...]:
    """Whom a step's task waits for: its agent (named or holding its claim), `@capability`
    while it is offered to one (claimed too, so a listing by capability finds it)."""
    if record.status != StepStatus.WAITING or record.child is not None:
        return ()
    if record.capability is not None:
        offer = f"{OFFERED}{record.capability}"
        return (offer, record.agent_id) if record.agent_id else (offer,)
    return (record.agent_id,) if record.agent_id is not None else (INPUT,)
