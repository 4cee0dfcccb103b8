"""A run's state as typed, immutable records: its input, each step's record with its
attempts, its output or error. Records change only through their own methods, each of
which returns a new record; JSON is made and read only at the store's edge (`to_json`,
`from_json`).

A step record also holds the step's current attempt (its number, and while it waits,
what for), so "what the run is doing" is the record of the step the run is at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

MAX_ATTEMPTS_KEPT = 50
_EMPTY: Mapping[str, Any] = MappingProxyType({})


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
        return replace(self, step=step)

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
        return replace(
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

    @classmethod
    def entered(cls, previous: StepRecord | None) -> StepRecord:
        """The record of a step the run (re-)enters: a new attempt is queued; earlier
        attempts, output and error stay (a step entered again keeps its history)."""
        if previous is None:
            return cls(StepStatus.QUEUED, attempt=1)
        number = len(previous.attempts) + previous.dropped + 1
        return replace(
            previous,
            status=StepStatus.QUEUED,
            attempt=number,
            retries=(),
            due=None,
            agent_id=None,
            request=None,
            result=None,
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
        return replace(
            self, status=status, attempts=attempts[max(0, extra) :], dropped=dropped, due=None
        )

    def waiting(self, agent_id: str, request: Mapping[str, Any]) -> StepRecord:
        """The attempt now waits for `agent_id` to report."""
        return replace(self, status=StepStatus.WAITING, agent_id=agent_id, request=dict(request))

    def sleeping(self, result: Any) -> StepRecord:
        """The attempt now waits for time to pass, then succeeds with `result`."""
        return replace(self, status=StepStatus.SLEEPING, result=result)

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
        return replace(self, agent_id=None, request=None, result=None, **changes)

    def cancelled(self, now: float) -> StepRecord:
        """The step is stopped: an attempt in progress ends cancelled, a queued one never runs."""
        if self.in_progress:
            return self.ended(now, Outcome.CANCELLED)
        return replace(self, status=StepStatus.CANCELLED, due=None)

    def retrying(self, due: float, retries: tuple[int, ...]) -> StepRecord:
        """The next attempt waits for its retry delay, until `due`."""
        return replace(
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
        """The record as stored."""
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
        )


@dataclass(frozen=True)
class RunState:
    """Everything a run knows besides its machine state: input, steps, output, error."""

    input: Mapping[str, Any]
    steps: Mapping[str, StepRecord] = field(default_factory=lambda: _EMPTY)
    output: Any = None
    error: Failure | None = None

    def step(self, path: str) -> StepRecord | None:
        """The record of the step at `path`, if the run has entered it."""
        return self.steps.get(path)

    def with_step(self, path: str, record: StepRecord) -> RunState:
        """The state with one step's record replaced."""
        return replace(self, steps={**self.steps, path: record})

    def succeeded(self, output: Any) -> RunState:
        """The run ended with `output`."""
        return replace(self, output=output)

    def failed(self, error: Failure) -> RunState:
        """The run (or the step a catcher moved on from) failed with `error`."""
        return replace(self, error=error)

    def without_error(self) -> RunState:
        """The state of a run that starts over from its failure (a redrive)."""
        return replace(self, error=None)

    def pending(self, at: str) -> StepRecord | None:
        """The record of step `at` (where the run is) while an attempt of it is active."""
        record = self.steps.get(at)
        return record if record is not None and record.active else None

    def waiting_for(self) -> str | None:
        """The agent whose report a step of the run waits for, if one does."""
        return next(
            (r.agent_id for r in self.steps.values() if r.status == StepStatus.WAITING), None
        )

    def view(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """What `$.` references read: input, step outputs and errors, the run, its error."""
        steps = {
            path: {
                "output": record.output,
                "error": record.error.to_json() if record.error else None,
            }
            for path, record in self.steps.items()
        }
        error = self.error.to_json() if self.error else None
        return {"input": self.input, "steps": steps, "run": dict(run), "error": error}

    def to_json(self) -> dict[str, Any]:
        """The state as the store keeps it (a run instance's `context`)."""
        data: dict[str, Any] = {
            "input": dict(self.input),
            "steps": {path: record.to_json() for path, record in self.steps.items()},
        }
        if self.output is not None:
            data["output"] = self.output
        if self.error is not None:
            data["error"] = self.error.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        """The state a run instance's `context` holds (written by this or an earlier version,
        which kept the current attempt apart, under `pending`)."""
        steps = {path: StepRecord.from_json(r) for path, r in data.get("steps", {}).items()}
        pending = data.get("pending")
        if pending and pending["step"] in steps:
            steps[pending["step"]] = _with_legacy_pending(steps[pending["step"]], pending)
        return cls(
            input=data.get("input", {}),
            steps=steps,
            output=data.get("output"),
            error=Failure.from_json(data.get("error")),
        )


def _with_legacy_pending(record: StepRecord, pending: Mapping[str, Any]) -> StepRecord:
    """Fold the `pending` of the earlier layout into its step's record."""
    return replace(
        record,
        status=StepStatus(pending["status"]),
        attempt=pending["attempt"],
        due=pending.get("due"),
        agent_id=pending.get("agent_id"),
        request=pending.get("request"),
        result=pending.get("result"),
    )
