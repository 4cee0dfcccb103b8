"""The store protocol: the one place instance state, history and idempotency records live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..model import Change, IdempotencyRecord, Instance, Page, Query, TransitionRecord
from .brake import FailedKeys
from .definitions import DefinitionStore
from .liveness import Heartbeats
from .push import PushBook
from .work import WorkItem, WorkQueue


class Store(Protocol):
    """What services need from a store. Every write is atomic.

    `commit` writes the new instance, its transition record and the idempotency record
    of the request that caused it in one step, or nothing: it raises RevisionConflict
    when the stored revision is not `expected_revision`, and IdempotencyKeyTaken when
    the idempotency key was committed first by someone else. `also` names more instances
    changed in the same step (each with its own revision check and record).
    """

    kind: str
    history_cap: int
    queue: WorkQueue
    heartbeats: Heartbeats
    failed_keys: FailedKeys  # failed authentications per client (the API's brake)
    push: PushBook  # agents' push endpoints, task deliveries, webhook receipts
    definitions: DefinitionStore

    def after_fork(self) -> None:
        """In a freshly forked process: drop what the parent held (connections, worker id)."""

    def insert(
        self,
        instance: Instance,
        idempotency: IdempotencyRecord | None = None,
        work: Sequence[WorkItem] = (),
        also: Sequence[Change] = (),
    ) -> None:
        """Add a new instance and admit its first work (AlreadyExists, QueueFull: nothing)."""

    def get(self, kind: str, instance_id: str) -> Instance:
        """The instance (InstanceNotFound otherwise)."""

    def find(self, kind: str, query: Query) -> Page[Instance]:
        """Instances of `kind` matching `query`, oldest first."""

    def count_by_version(self, machine: str) -> dict[int, int]:
        """How many instances each version of `machine` has (versions without any absent)."""

    def delete(self, kind: str, instance_id: str) -> None:
        """Remove the instance and its history (InstanceNotFound otherwise)."""

    def commit(
        self,
        instance: Instance,
        expected_revision: int,
        record: TransitionRecord | None = None,
        idempotency: IdempotencyRecord | None = None,
        work: Sequence[WorkItem] = (),
        notes: Sequence[TransitionRecord] = (),
        also: Sequence[Change] = (),
        finished: WorkItem | None = None,
    ) -> TransitionRecord | None:
        """Replace the instance, append its record, queue `work`, add feed-only `notes`.

        `finished` is a claimed work item this change ends: a store whose queue keeps rows
        deletes it in the same commit, and `queue.done(finished)`, which the worker still
        calls, then makes no round trip. Returns the record with its `gid`.
        """

    def history(
        self, instance_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """Kept transition records with `seq > since_seq`, oldest first."""

    def feed(self, after_gid: int = 0, limit: int = 100) -> list[TransitionRecord]:
        """Kept transitions of every instance committed after `after_gid`, in commit order."""

    def feed_bounds(self) -> tuple[int, int]:
        """(oldest, newest) gid still in the feed; (0, 0) when it is empty."""

    def wait_for_feed(self, after_gid: int, timeout: float) -> None:
        """Return once the feed may hold something newer than `after_gid`, or after `timeout`."""

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The unexpired record stored under `key`, if any."""
