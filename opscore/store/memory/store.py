"""A thread-safe in-memory store: one process, the test default and the fastest backend."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Sequence
from itertools import islice

from ...clock import Clock, SystemClock
from ...config import DEFAULT_HISTORY_CAP, DEFAULT_IDEMPOTENCY_TTL
from ...errors import NOT_FOUND_BY_KIND, AlreadyExists, IdempotencyKeyTaken, RevisionConflict
from ...model import Change, IdempotencyRecord, Instance, Page, Query, TransitionRecord
from ..definitions import MemoryDefinitionStore
from ..work import WorkItem
from .beats import MemoryHeartbeats
from .brake import MemoryFailedKeys
from .push import MemoryPushBook
from .queue import MemoryWorkQueue

MAX_IDEMPOTENCY_RECORDS = 100_000
FEED_RETENTION = 10_000


class MemoryStore:
    """Instances in dicts, histories in capped deques; one lock makes each write atomic.

    Its work queue is in memory too, so queued work is handed over inside the same lock.
    """

    kind = "memory"

    def __init__(
        self,
        history_cap: int = DEFAULT_HISTORY_CAP,
        idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL,
        clock: Clock | None = None,
        queue: MemoryWorkQueue | None = None,
        feed_retention: int = FEED_RETENTION,
    ) -> None:
        self.history_cap = history_cap
        self.idempotency_ttl = idempotency_ttl
        self._clock = clock or SystemClock()
        self.queue = queue or MemoryWorkQueue(clock=self._clock)
        self.heartbeats = MemoryHeartbeats()
        self.failed_keys = MemoryFailedKeys()
        self.push = MemoryPushBook()
        self.definitions = MemoryDefinitionStore()
        self._instances: dict[str, dict[str, Instance]] = {}
        self._histories: dict[str, deque[TransitionRecord]] = {}
        self._idempotency: OrderedDict[str, IdempotencyRecord] = OrderedDict()
        self._feed: deque[TransitionRecord] = deque(maxlen=feed_retention)
        self._fed = threading.Condition(threading.Lock())
        self._following = 0  # threads waiting in wait_for_feed; commits wake them
        self._gids = itertools.count(1)
        self._lock = threading.Lock()

    def after_fork(self) -> None:
        """Memory is never shared across a fork (one process serves it): nothing to drop."""

    def insert(
        self,
        instance: Instance,
        idempotency: IdempotencyRecord | None = None,
        work: Sequence[WorkItem] = (),
        also: Sequence[Change] = (),
    ) -> None:
        """Add a new instance and admit its first work; on AlreadyExists or QueueFull, nothing."""
        with self._lock:
            table = self._instances.setdefault(instance.kind, {})
            if instance.id in table:
                raise AlreadyExists(instance.kind, instance.id)
            if idempotency is not None and self._live_idempotency(idempotency.key):
                raise IdempotencyKeyTaken(idempotency.key)
            for change in also:
                self._check_revision(change.instance, change.expected_revision)
            if work:
                self.queue.admit(work)
            self._keep_idempotency(idempotency)
            table[instance.id] = instance
            for change in also:
                self._write(change.instance, change.record)
        self._wake_followers(bool(also))

    def get(self, kind: str, instance_id: str) -> Instance:
        """The instance (InstanceNotFound otherwise)."""
        try:
            return self._instances[kind][instance_id]
        except KeyError:
            raise NOT_FOUND_BY_KIND[kind](instance_id) from None

    def find(self, kind: str, query: Query) -> Page[Instance]:
        """Instances of `kind` matching `query`, oldest first."""
        instances = list(self._instances.get(kind, {}).values())
        matching = [i for i in instances if query.matches(i)]
        return Page(matching[query.offset : query.offset + query.limit], len(matching))

    def count_by_version(self, machine: str) -> dict[int, int]:
        """How many instances each version of `machine` has."""
        with self._lock:
            found = [i for table in self._instances.values() for i in table.values()]
        return dict(Counter(i.version for i in found if i.machine == machine))

    def delete(self, kind: str, instance_id: str) -> None:
        """Remove the instance and its history (InstanceNotFound otherwise)."""
        with self._lock:
            if self._instances.get(kind, {}).pop(instance_id, None) is None:
                raise NOT_FOUND_BY_KIND[kind](instance_id)
            self._histories.pop(instance_id, None)

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
        """Replace the instance, append its record and queue its follow-up work, atomically.
        (`finished` is left to the worker's `done`: a claim in memory is a counter, no row.)"""
        with self._lock:
            self._check_revision(instance, expected_revision)
            for change in also:
                self._check_revision(change.instance, change.expected_revision)
            if idempotency is not None:
                if self._live_idempotency(idempotency.key):
                    raise IdempotencyKeyTaken(idempotency.key)
                self._keep_idempotency(idempotency)
            self._write(instance, record)
            for change in also:
                self._write(change.instance, change.record)
            for note in notes:
                note.gid = next(self._gids)
                self._feed.append(note)
            if work:
                self.queue.offer(work)
        if self._following:
            self._wake_followers(record is not None or bool(notes) or bool(also))
        return record

    def _check_revision(self, instance: Instance, expected: int) -> None:
        """NotFound or RevisionConflict unless `instance` is stored at revision `expected`."""
        current = self._instances.get(instance.kind, {}).get(instance.id)
        if current is None:
            raise NOT_FOUND_BY_KIND[instance.kind](instance.id)
        if current.revision != expected:
            raise RevisionConflict(instance.id, expected)

    def _write(self, instance: Instance, record: TransitionRecord | None) -> None:
        """Replace the instance and append its record to its history and the feed (lock held)."""
        self._instances[instance.kind][instance.id] = instance
        if record is None:
            return
        record.gid = next(self._gids)
        history = self._histories.get(instance.id)
        if history is None:
            history = self._histories[instance.id] = deque(maxlen=self.history_cap)
        history.append(record)
        self._feed.append(record)

    def _wake_followers(self, fed: bool) -> None:
        if fed and self._following:
            with self._fed:
                self._fed.notify_all()

    def history(
        self, instance_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """Kept transition records with `seq > since_seq`, oldest first."""
        with self._lock:
            records = list(self._histories.get(instance_id, ()))
        newer = [r for r in records if r.seq > since_seq]
        return Page(list(islice(newer, offset, offset + limit)), len(newer))

    def feed(self, after_gid: int = 0, limit: int = 100) -> list[TransitionRecord]:
        """The last FEED_RETENTION transitions committed after `after_gid`, in commit order."""
        with self._lock:
            records = list(self._feed)
        return [r for r in records if r.gid > after_gid][:limit]

    def feed_bounds(self) -> tuple[int, int]:
        """(oldest, newest) gid still in the feed; (0, 0) when it is empty."""
        with self._lock:
            if not self._feed:
                return 0, 0
            return self._feed[0].gid, self._feed[-1].gid

    def wait_for_feed(self, after_gid: int, timeout: float) -> None:
        """Return when something newer than `after_gid` is in the feed, or after `timeout`."""
        with self._fed:
            if self.feed_bounds()[1] <= after_gid:
                self._following += 1
                try:
                    self._fed.wait(timeout)
                finally:
                    self._following -= 1

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The unexpired record stored under `key`, if any."""
        return self._live_idempotency(key)

    def _live_idempotency(self, key: str) -> IdempotencyRecord | None:
        record = self._idempotency.get(key)
        if record is None or record.created_at < self._clock.now() - self.idempotency_ttl:
            return None
        return record

    def _keep_idempotency(self, record: IdempotencyRecord | None) -> None:
        """Store `record`, dropping expired (and, past the cap, the oldest) ones; lock held."""
        if record is None:
            return
        horizon = self._clock.now() - self.idempotency_ttl
        while self._idempotency and (
            len(self._idempotency) >= MAX_IDEMPOTENCY_RECORDS
            or next(iter(self._idempotency.values())).created_at < horizon
        ):
            self._idempotency.popitem(last=False)
        self._idempotency[record.key] = record
