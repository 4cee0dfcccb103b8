"""What agents, sessions and runs share: create, fire under a lock, commit atomically, log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from loguru import logger

from ..engine import Engine
from ..errors import InvalidRequest, PreconditionFailed, RevisionConflict
from ..store import Instance, Page, Query, Store, TransitionRecord
from ..store.records import EMPTY
from .idempotency import IdempotentRequest
from .locks import StripedLocks

MAX_CONFLICT_RETRIES = 8

_TRANSITION_MESSAGES = {
    "agent": "agent {agent_id} {event}: {source} -> {dest}",
    "session": "session {session_id} {event}: {source} -> {dest}",
    "run": "run {run_id} {event}: {source} -> {dest}",
}
_CREATED_MESSAGES = {
    kind: f"{kind} {{{kind}_id}} created in {{state}}" for kind in _TRANSITION_MESSAGES
}


@dataclass(frozen=True)
class Fired:
    """The outcome of one committed event."""

    previous: Instance
    instance: Instance
    record: TransitionRecord


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.engine = engine
        self.locks = locks or StripedLocks()
        self.clock = clock

    def create(
        self,
        kind: str,
        machine: str,
        *,
        instance_id: str | None = None,
        idempotency: IdempotentRequest | None = None,
        **attributes: Any,
    ) -> Instance:
        """Store a new instance in its machine's initial state, pinned to the latest version."""
        definition = self.engine.definitions.get(machine)
        if definition.kind != kind:
            raise InvalidRequest(
                f"machine '{machine}' is a {definition.kind} machine, not {kind}", "machine"
            )
        now = self.clock()
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
        self.store.insert(instance, record)
        logger.info(
            _CREATED_MESSAGES[kind],
            state=instance.state,
            machine=instance.machine,
            **{f"{kind}_id": instance.id},
        )
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
        """Fire `event` on one instance and commit it with its record, or change nothing.

        Writes to one instance are serialized by its lock here and by the store's
        revision check across processes; a lost race is retried a bounded number of times.
        """
        for attempt in range(MAX_CONFLICT_RETRIES):
            with self.locks.of(instance_id):
                previous = self.store.get(kind, instance_id)
                if if_match is not None and previous.etag not in if_match:
                    raise PreconditionFailed(instance_id, previous.etag)
                now = self.clock()
                instance, record = self.engine.fire(previous, event, data, now)
                fired = Fired(previous, instance, record)
                kept = idempotency.record(fired, now) if idempotency else None
                try:
                    record = self.store.commit(instance, previous.revision, record, kept)
                except RevisionConflict:
                    if attempt + 1 == MAX_CONFLICT_RETRIES:
                        raise
                    continue
            self._log(instance, record)
            return fired
        raise AssertionError("unreachable")  # pragma: no cover

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
        return instance.state in self.engine.definition(instance).final_states

    def _log(self, instance: Instance, record: TransitionRecord) -> None:
        extra = {
            f"{instance.kind}_id": instance.id,
            "event": record.event,
            "source": record.source,
            "dest": record.dest,
            "seq": record.seq,
        }
        if instance.agent_id is not None:
            extra["agent_id"] = instance.agent_id
        logger.info(_TRANSITION_MESSAGES[instance.kind], **extra)
