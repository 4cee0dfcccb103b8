"""What agents, sessions and runs share: create, change under a lock, commit atomically, log."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from .. import metrics
from ..clock import Clock, SystemClock
from ..engine import Engine
from ..errors import (
    ActionFailed,
    Conflict,
    EventNotAllowed,
    GuardRefused,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    RevisionConflict,
    TransitionError,
    UnknownEvent,
)
from ..logs import TransitionLine, info_fields
from ..model import EMPTY, Change, Instance, Page, Query, TransitionRecord
from ..store import Store
from ..store.work import WorkItem
from .idempotency import IdempotentRequest
from .locks import StripedLocks
from .validation import DEFAULT_LIMITS, Limits

MAX_CONFLICT_RETRIES = 32
UPGRADE_EVENT = "(upgrade)"  # the event of an upgrade's record: no event can have this name
BACKOFF, MAX_BACKOFF = 0.0005, 0.05  # seconds: the pause after a lost race, and its cap
_RANDOM = random.Random()  # noqa: S311 - spreads retries, not security
_REJECTION_REASONS = {
    EventNotAllowed: "not_allowed",
    GuardRefused: "guard_refused",
    UnknownEvent: "unknown_event",
    ActionFailed: "action_failed",
}
MACHINE_KIND_OF = {"agent": "agent", "session": "session", "run": "workflow"}


@dataclass(slots=True)
class Fired:
    """The outcome of one committed change; `record` is None when no event fired."""

    previous: Instance
    instance: Instance
    record: TransitionRecord | None
    notes: tuple[TransitionRecord, ...] = ()
    linked: tuple[Fired, ...] = ()  # events fired on other instances in the same commit


@dataclass(frozen=True, slots=True)
class LinkedEvent:
    """An event to fire on another instance in the same commit (a run's bound agent).

    When it is refused, a `required` one refuses the whole change; any other is left out
    and logged, and the change commits without it.
    """

    kind: str
    instance_id: str
    event: str
    data: Mapping[str, Any] = field(default_factory=dict)
    required: bool = False


@dataclass(slots=True)
class Plan:
    """What to commit: an event to fire (or None), the context to keep, work to queue."""

    event: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] | None = None
    work: Sequence[WorkItem] = ()
    # What changed in a run's steps, for live streams and logs (not its history).
    notes: Sequence[Mapping[str, Any]] = ()
    # With a new context: the agents whose reports the instance now waits for.
    waiting_for: tuple[str, ...] = ()
    linked: Sequence[LinkedEvent] = ()
    # Instead of an event: move to (version, state) of the same machine (services/upgrades).
    upgrade: tuple[int, str] | None = None
    # The claimed work item whose processing this change ends: a store may delete its queue
    # row in the same commit (the worker's `done` afterwards then costs nothing).
    finishes: WorkItem | None = None


Planner = Callable[[Instance], Plan | None]


def new_id() -> str:
    """A fresh random instance id."""
    return uuid.uuid4().hex


class Lifecycle:
    """Instance mechanics shared by the agent, session and run services."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        locks: StripedLocks | None = None,
        clock: Clock | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.engine = engine
        self.locks = locks or StripedLocks()
        self.clock = clock or SystemClock()
        self.limits = limits
        # Each transition's counter and log line, by kind, machine, event, source and dest.
        self._transitions: dict[tuple[str, ...], tuple[Any, TransitionLine]] = {}

    def create(
        self,
        kind: str,
        machine: str,
        *,
        instance_id: str | None = None,
        idempotency: IdempotentRequest | None = None,
        work: Callable[[Instance], Sequence[WorkItem]] | None = None,
        linked: Sequence[LinkedEvent] = (),
        **attributes: Any,
    ) -> Instance:
        """Store a new instance in its machine's initial state, pinned to the latest version,
        with the `linked` events fired on other instances in the same step."""
        definition = self.engine.definitions.get(machine)
        if definition.kind != MACHINE_KIND_OF[kind]:
            raise InvalidRequest(
                f"machine '{machine}' is a {definition.kind} machine, not {kind}", "machine"
            )
        now = self.clock.now()
        instance = Instance(
            id=instance_id or new_id(),
            kind=kind,
            machine=definition.name,
            version=definition.version,
            state=definition.initial,
            created_at=now,
            **attributes,
        )
        record = idempotency.record(instance, now) if idempotency else None
        for attempt in range(MAX_CONFLICT_RETRIES):
            fired = self._linked(linked)
            try:
                self.store.insert(instance, record, work(instance) if work else (), _changes(fired))
            except RevisionConflict:  # a linked instance changed meanwhile: fire on it again
                if attempt + 1 == MAX_CONFLICT_RETRIES:
                    raise
                continue
            break
        info_fields(
            f"{kind} {instance.id} created in {instance.state}",
            {"state": instance.state, "machine": instance.machine, f"{kind}_id": instance.id},
        )
        self._log_linked(fired)
        return instance

    def fire(
        self,
        kind: str,
        instance_id: str,
        event: str,
        data: Mapping[str, Any] = EMPTY,
        *,
        if_match: Collection[str] | None = None,
        idempotency: IdempotentRequest | None = None,
    ) -> Fired:
        """Fire `event` on one instance and commit it with its record, or change nothing."""

        def plan(current: Instance) -> Plan:
            if if_match is not None and current.etag not in if_match:
                raise PreconditionFailed(instance_id, current.etag)
            return Plan(event, data)

        fired = self.transact(kind, instance_id, plan, idempotency=idempotency)
        assert fired is not None
        return fired

    def transact(
        self,
        kind: str,
        instance_id: str,
        planner: Planner,
        idempotency: IdempotentRequest | None = None,
        committed: Callable[[Fired], None] | None = None,
        guess: Callable[[], Instance | None] | None = None,
    ) -> Fired | None:
        """Read the instance, let `planner` decide, commit the plan atomically; None if no plan.

        `committed` is called with what fired right after the commit, before the instance's
        lock is released (the next writer in this process finds what it left, such as a
        parsed state, in place).

        Writes to one instance are serialized by its lock here and by the store's
        revision check across processes; a lost race is retried a bounded number of
        times, calling `planner` again on the fresh instance, after a short random pause
        that grows with each loss (processes that keep colliding on one busy run, such as
        a map's items finishing at once, spread out instead of losing every time).

        `guess`, called with the instance's lock held, gives the instance as this process
        last committed it (or None), when the caller expects nothing else to have changed it
        since (a worker settling the attempt it began): the first plan is made on it without
        reading the store. It counts only if it commits; when the store holds a later
        revision, or the planner declines the guess or it is refused while the store has
        moved on, the change is planned again on the stored instance, at once. Only for
        kinds whose ids are never used again (runs): a revision then names one content.
        """
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:
                time.sleep(_RANDOM.uniform(0, min(MAX_BACKOFF, BACKOFF * 2**attempt)))
            with self.locks.of(instance_id):
                known = guess() if guess is not None and not attempt else None
                try:
                    fired = None
                    if known is not None:
                        fired = self._on_guess(
                            kind, instance_id, known, planner, idempotency, committed
                        )
                    if fired is None:
                        previous = self.store.get(kind, instance_id)
                        fired = self._attempt(previous, planner, idempotency, committed)
                except RevisionConflict:
                    if attempt + 1 == MAX_CONFLICT_RETRIES:
                        raise
                    continue
            if fired is not None:
                self._log_fired(fired)
            return fired
        raise AssertionError("unreachable")  # pragma: no cover

    def _on_guess(
        self,
        kind: str,
        instance_id: str,
        known: Instance,
        planner: Planner,
        idempotency: IdempotentRequest | None,
        committed: Callable[[Fired], None] | None,
    ) -> Fired | None:
        """`_attempt` on the guessed instance (its lock held); None when it did not commit,
        to plan again on the stored one. A refusal stands if the store still holds the
        guessed revision (the plan, its actions included, is not made twice); a refusal of a
        guess that was behind is counted in `opscore_events_rejected` all the same."""
        if (known.kind, known.id) != (kind, instance_id):
            raise ValueError(f"a guess of {known.kind} {known.id} for {kind} {instance_id}")
        try:
            fired = self._attempt(known, planner, idempotency, committed)
        except (Conflict, NotFound):  # a revision conflict among them: the store moved on
            return None
        except (TransitionError, ActionFailed):
            if self.store.get(kind, instance_id).revision == known.revision:
                raise
            return None
        return fired

    def _attempt(
        self,
        previous: Instance,
        planner: Planner,
        idempotency: IdempotentRequest | None,
        committed: Callable[[Fired], None] | None,
    ) -> Fired | None:
        """Plan on `previous` and commit at its revision (the instance's lock held); None if
        no plan, RevisionConflict when the store holds another revision."""
        plan = planner(previous)
        if plan is None:
            return None
        fired = self._apply(previous, plan)
        if plan.linked:
            fired.linked = self._linked(plan.linked)
        kept = idempotency.record(fired, fired.instance.updated_at) if idempotency else None
        self.store.commit(
            fired.instance,
            previous.revision,
            fired.record,
            kept,
            plan.work,
            fired.notes,
            _changes(fired.linked) if fired.linked else (),
            plan.finishes,
        )
        if committed is not None:
            committed(fired)
        return fired

    def _log_fired(self, fired: Fired) -> None:
        """The log lines of a committed change: its notes, its transition, linked ones."""
        for note in fired.notes:
            self._log_note(fired.instance, note)
        if fired.record is not None:
            self._log(fired.instance, fired.record)
        if fired.linked:
            self._log_linked(fired.linked)

    def _apply(self, previous: Instance, plan: Plan) -> Fired:
        now = self.clock.now()
        base = (
            previous
            if plan.context is None
            else previous.evolve(context=plan.context, waiting_for=plan.waiting_for)
        )
        notes = tuple(_note(base, note, now) for note in plan.notes) if plan.notes else ()
        if plan.upgrade is not None:
            instance, record = _upgraded(base, *plan.upgrade, now)
            return Fired(previous, instance, record, notes)
        if plan.event is None:
            instance = base.evolve(revision=previous.revision + 1, updated_at=now)
            return Fired(previous, instance, None, notes)
        try:
            instance, record = self.engine.fire(base, plan.event, plan.data, now=now)
        except (TransitionError, ActionFailed) as error:
            reason = _REJECTION_REASONS.get(type(error), "refused")
            metrics.rejected_events.labels(previous.kind, previous.machine, reason).inc()
            raise
        return Fired(previous, instance, record, notes)

    def _linked(self, events: Sequence[LinkedEvent]) -> tuple[Fired, ...]:
        """The linked events fired (uncommitted) on their instances as they are now."""
        fired = []
        for linked in events:
            other = self.store.get(linked.kind, linked.instance_id)
            try:
                fired.append(self._apply(other, Plan(linked.event, linked.data)))
            except (TransitionError, ActionFailed) as error:
                if linked.required:
                    raise
                logger.warning(
                    "{kind} {instance_id} refused {event} (left out of the change): {error}",
                    kind=linked.kind,
                    instance_id=linked.instance_id,
                    event=linked.event,
                    error=error.message,
                )
        return tuple(fired)

    def _log_linked(self, fired: Sequence[Fired]) -> None:
        for change in fired:
            if change.record is not None:
                self._log(change.instance, change.record)

    def history(
        self, kind: str, instance_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """The instance's kept transition records, oldest first."""
        self.store.get(kind, instance_id)
        return self.store.history(instance_id, since_seq, offset, limit)

    def find(self, kind: str, query: Query) -> Page[Instance]:
        """Instances of `kind` that match `query`."""
        return self.store.find(kind, query)

    def allowed_events(self, instance: Instance) -> tuple[str, ...]:
        """The events that may fire from the instance's current state."""
        return self.engine.allowed_events(instance)

    def is_final(self, instance: Instance) -> bool:
        """Whether the instance is in a final state of its machine."""
        return self.engine.is_final(instance)

    def _log(self, instance: Instance, record: TransitionRecord) -> None:
        key = (instance.kind, instance.machine, record.event, record.source, record.dest)
        known = self._transitions.get(key)
        if known is None:
            counter = metrics.child(metrics.transitions, *key[:3])
            line = TransitionLine(instance.kind, record.event, record.source, record.dest)
            known = self._transitions[key] = (counter, line)
        known[0].inc()
        known[1].write(instance.id, record.seq, instance.agent_id)

    def _log_note(self, instance: Instance, note: TransitionRecord) -> None:
        data = note.data
        message = (
            f"run {instance.id} step {data['step']} attempt {data['attempt']} {data['status']}"
        )
        info_fields(message, {"run_id": instance.id, "agent_id": instance.agent_id, **data})


def _upgraded(
    instance: Instance, version: int, state: str, now: float
) -> tuple[Instance, TransitionRecord]:
    """The instance moved to `version` in `state`, and the record that says so."""
    seq = instance.seq + 1
    record = TransitionRecord(
        instance_id=instance.id,
        kind=instance.kind,
        machine=instance.machine,
        version=version,
        seq=seq,
        event=UPGRADE_EVENT,
        source=instance.state,
        dest=state,
        at=now,
        data={"from_version": instance.version, "to_version": version},
        agent_id=instance.id if instance.kind == "agent" else instance.agent_id,
    )
    after = instance.evolve(
        version=version, state=state, revision=instance.revision + 1, seq=seq, updated_at=now
    )
    return after, record


def _changes(fired: Sequence[Fired]) -> tuple[Change, ...]:
    """The store's view of linked events: each instance, its revision before, its record."""
    return tuple(Change(f.instance, f.previous.revision, f.record) for f in fired if f.record)


def _note(instance: Instance, note: Mapping[str, Any], now: float) -> TransitionRecord:
    """A feed-only record of what changed in a run's step (seq 0: not in the history)."""
    return TransitionRecord(
        instance_id=instance.id,
        kind="step",
        machine=instance.machine,
        version=instance.version,
        seq=0,
        event=note["status"],
        source=note["step"],
        dest=note["step"],
        at=now,
        data=dict(note),
        agent_id=instance.agent_id,
    )
