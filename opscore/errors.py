"""The one exception hierarchy of Ops-Core; each error carries the facts a caller needs."""

from __future__ import annotations

from collections.abc import Sequence


class OpsCoreError(Exception):
    """Base of every error Ops-Core raises on purpose.

    `retry_after` is set (seconds) on errors a caller should simply retry after a while.
    """

    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(OpsCoreError):
    """A named thing does not exist."""


class MachineNotFound(NotFound):
    """No machine definition with this name (and version)."""

    kind = "machine"

    def __init__(self, name: str, version: int | None = None) -> None:
        where = f" version {version}" if version is not None else ""
        super().__init__(f"{self.kind} '{name}'{where} not found")
        self.name = name
        self.version = version


class WorkflowNotFound(MachineNotFound):
    """No workflow definition with this name (and version)."""

    kind = "workflow"


class InstanceNotFound(NotFound):
    """No agent, session or run with this id."""

    kind = "instance"

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"{self.kind} '{instance_id}' not found")
        self.instance_id = instance_id


class AgentNotFound(InstanceNotFound):
    """No agent with this id."""

    kind = "agent"


class SessionNotFound(InstanceNotFound):
    """No session with this id."""

    kind = "session"


class RunNotFound(InstanceNotFound):
    """No workflow run with this id."""

    kind = "run"


NOT_FOUND_BY_KIND: dict[str, type[InstanceNotFound]] = {
    "agent": AgentNotFound,
    "session": SessionNotFound,
    "run": RunNotFound,
}


class AlreadyExists(OpsCoreError):
    """An instance with this id already exists."""

    def __init__(self, kind: str, instance_id: str) -> None:
        super().__init__(f"{kind} '{instance_id}' already exists")
        self.kind = kind
        self.instance_id = instance_id


class TransitionError(OpsCoreError):
    """An event could not move an instance; nothing changed."""

    def __init__(self, message: str, event: str, state: str, allowed_events: Sequence[str]):
        super().__init__(message)
        self.event = event
        self.state = state
        self.allowed_events = list(allowed_events)


class UnknownEvent(TransitionError):
    """The machine defines no such event at all."""

    def __init__(self, event: str, state: str, allowed_events: Sequence[str], machine: str):
        super().__init__(
            f"machine '{machine}' has no event '{event}'", event, state, allowed_events
        )


class EventNotAllowed(TransitionError):
    """The event exists but cannot fire from the current state."""

    def __init__(self, event: str, state: str, allowed_events: Sequence[str]):
        super().__init__(
            f"event '{event}' is not allowed in state '{state}'", event, state, allowed_events
        )


class GuardRefused(TransitionError):
    """Every transition for the event was refused by its conditions."""

    def __init__(
        self, event: str, state: str, allowed_events: Sequence[str], guards: Sequence[str]
    ):
        super().__init__(
            f"event '{event}' refused in state '{state}' by its conditions",
            event,
            state,
            allowed_events,
        )
        self.guards = list(guards)


class ActionFailed(OpsCoreError):
    """A registered condition or action raised; the transition was not committed."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"callback '{name}' failed: {type(error).__name__}: {error}")
        self.name = name


class Conflict(OpsCoreError):
    """The request conflicts with the instance's current state or revision."""


class MachineRetired(Conflict):
    """Every version of the machine is retired: it takes no new instances."""

    def __init__(self, name: str) -> None:
        super().__init__(f"every version of machine '{name}' is retired; it takes no new instances")
        self.name = name


class AgentEnded(Conflict):
    """The agent is in a final state and takes no new work."""

    def __init__(self, agent_id: str, state: str) -> None:
        super().__init__(f"agent '{agent_id}' is {state}; it takes no new sessions or runs")
        self.agent_id = agent_id
        self.state = state


class RevisionConflict(Conflict):
    """Another writer changed the instance first; the write was not applied."""

    def __init__(self, instance_id: str, expected: int) -> None:
        super().__init__(
            f"'{instance_id}' changed concurrently (expected revision {expected}); retry"
        )
        self.instance_id = instance_id
        self.expected = expected


class PreconditionFailed(OpsCoreError):
    """An If-Match precondition did not hold; nothing changed."""

    def __init__(self, instance_id: str, current_etag: str) -> None:
        super().__init__(f"'{instance_id}' does not match If-Match (current ETag {current_etag})")
        self.instance_id = instance_id
        self.current_etag = current_etag


class IdempotencyKeyReused(OpsCoreError):
    """An Idempotency-Key was sent again with a different request."""

    def __init__(self) -> None:
        super().__init__("Idempotency-Key was already used with a different request")


class IdempotencyKeyTaken(OpsCoreError):
    """A concurrent request committed under the same Idempotency-Key first."""

    def __init__(self, key: str) -> None:
        super().__init__("a concurrent request used the same Idempotency-Key")
        self.key = key


class QueueFull(OpsCoreError):
    """The work queue is at its bound; try again after `retry_after` seconds."""

    def __init__(self, capacity: int, retry_after: int = 1) -> None:
        super().__init__(f"the work queue is full ({capacity} tasks); retry later")
        self.capacity = capacity
        self.retry_after = retry_after


class StreamsBusy(OpsCoreError):
    """Every live-stream slot of this process is taken."""

    def __init__(self, limit: int, retry_after: int = 5) -> None:
        super().__init__(
            f"{limit} live streams are open here already (OPSCORE_MAX_STREAMS); retry later"
        )
        self.retry_after = retry_after


class StoreBusy(OpsCoreError):
    """Another writer held the database for longer than the store waits."""

    def __init__(self, waited: float, retry_after: int = 1) -> None:
        super().__init__(f"the store stayed busy for {waited:g} s; retry later")
        self.retry_after = retry_after


class StepNotWaiting(Conflict):
    """A report for a step that is not waiting for one (reported twice, or never handed out)."""

    def __init__(self, run_id: str, step: str, status: str | None) -> None:
        what = f"is {status}" if status else "is not the current step"
        super().__init__(f"step '{step}' of run '{run_id}' {what}; it takes no report")
        self.run_id = run_id
        self.step = step


class RunNotUpgradable(Conflict):
    """A run that cannot move to another version of its workflow now (a step of it runs, it
    has ended, or the step it waits in would be renamed); `reason` says which. Nothing
    changed."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"run '{run_id}' cannot be upgraded now: {reason}")
        self.run_id = run_id
        self.reason = reason


class TaskNotFound(NotFound):
    """No task with this id is waiting (it never was, or it has been settled)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task '{task_id}' not found (or no longer waiting)")
        self.task_id = task_id


class LeaseLost(Conflict):
    """A report that does not carry the task's current lease token: it lost its claim (it
    lapsed and another agent holds the task now) or never had it. Nothing changed."""

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task '{task_id}' is not held with this lease token (it lapsed, or another agent "
            "claimed the task); the report changed nothing"
        )
        self.task_id = task_id


class InvalidRequest(OpsCoreError):
    """The request is well-formed but its content cannot be accepted."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SignatureRefused(OpsCoreError):
    """A signed request (a webhook) whose signature is missing, wrong, stale or replayed:
    it changed nothing."""
