"""The durable work queue: rows claimed with a lease; a dead worker's lease runs out.

PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so workers on many hosts never take the
same row; SQLite has one writer at a time (`BEGIN IMMEDIATE`). A claim takes up to `limit`
due rows in one statement (`claim_many`). Admission counts the due
rows; follow-up work is inserted in the transaction of the change that caused it, and a
worker's own next item already claimed by it (`keeping`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, text, update

from ...clock import Clock
from ...config import DEFAULT_WORK_LEASE
from ...errors import QueueFull
from ..work import WorkItem, WorkKind
from .engine import alone, reading, write
from .schema import work

MIN_POLL, MAX_POLL = 0.02, 0.5
# A holder whose last renewal is older than this stopped renewing: its worker is gone. Its
# workers renew every second (opscore.runs.workers), so this is three missed renewals.
STALLED_AFTER = 3.0
_ADMISSION_LOCK = 0x0B5C0E  # PostgreSQL advisory lock that serializes admissions
# Rows deleted by the commit that settled them, remembered until their worker's `done`
# (one is never called for a handler left behind: the oldest are forgotten past this).
FINISHED_KEPT = 4096

# The statements of every step, built once (building one costs more than running it).
_FREE = (work.c.lease_until.is_(None)) | (work.c.lease_until < bindparam("now"))
_DUE = (
    select(work.c.id)
    .where(work.c.due <= bindparam("now"), _FREE)
    .order_by(work.c.due, work.c.id)
    .limit(bindparam("limit"))
)
_LOOK = _DUE.limit(1)
_OWNED = work.c.lease_owner == bindparam("owner")
_ITEM = work.c.id == bindparam("item")
_DONE = delete(work).where(_ITEM, _OWNED)
_RELEASE = update(work).where(_ITEM, _OWNED).values(lease_until=bindparam("until"))
_KEEP = insert(work).returning(work.c.id)
_RENEW = (
    update(work)
    .where(work.c.id.in_(bindparam("items", expanding=True)), _OWNED)
    .values(lease_until=bindparam("until"))
)


def _claim(skip_locked: bool) -> Any:
    """Lease the due rows `_DUE` picks; with `skip_locked`, rows another claim is taking
    are passed over instead of waited for (PostgreSQL)."""
    due = _DUE.with_for_update(skip_locked=True) if skip_locked else _DUE
    return (
        update(work)
        .where(work.c.id.in_(due.scalar_subquery()))
        .values(
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until"),
            deliveries=work.c.deliveries + 1,
        )
        .returning(work)
    )


_CLAIM = {False: _claim(skip_locked=False), True: _claim(skip_locked=True)}


class _Keeping(threading.local):
    """What a thread's `keeping` block has kept so far; None outside one."""

    kept: list[WorkItem] | None = None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SqlWorkQueue:
    """Work rows in the store's database; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        capacity: int,
        clock: Clock,
        lease: float = DEFAULT_WORK_LEASE,
    ) -> None:
        self.engine = engine
        self.capacity = capacity
        self.clock = clock
        self.lease = lease
        self.owner = _owner()
        self._closed = False
        self._wakeup = threading.Condition()
        self._finished: OrderedDict[int, None] = OrderedDict()
        self._finished_lock = threading.Lock()
        self._keeping = _Keeping()
        clock.on_advance(self.wake)

    def after_fork(self) -> None:
        """A forked process is a new worker: give it its own lease owner id."""
        self.owner = _owner()

    def admit_in(self, conn: Connection, items: Sequence[WorkItem]) -> None:
        """Within `conn`'s transaction: queue new work, or raise QueueFull."""
        now = self.clock.now()
        ready = sum(1 for item in items if item.due <= now)
        if ready:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMISSION_LOCK})
            due = conn.execute(select(func.count()).select_from(work).where(work.c.due <= now))
            if due.scalar_one() + ready > self.capacity:
                raise QueueFull(self.capacity)
        self.offer_in(conn, items)

    def offer_in(
        self, conn: Connection, items: Sequence[WorkItem], kept: WorkItem | None = None
    ) -> int | None:
        """Within `conn`'s transaction: queue follow-up work (never refused); `kept`, one of
        `items` (`to_keep`), is inserted claimed by this process and its row id returned."""
        rows = [self.row(item) for item in items if item is not kept]
        if rows:
            conn.execute(insert(work), rows)
        if kept is None:
            return None
        return conn.execute(_KEEP, self.row(kept, claimed=True)).scalar_one()

    def row(self, item: WorkItem, claimed: bool = False) -> dict[str, Any]:
        """The work row of a new `item`; `claimed`: leased to this process, as a claim would."""
        owner, until = (self.owner, self.clock.now() + self.lease) if claimed else (None, None)
        return {
            "kind": item.kind,
            "run_id": item.run_id,
            "step": item.step,
            "attempt": item.attempt,
            "due": item.due,
            "deliveries": 1 if claimed else 0,
            "lease_owner": owner,
            "lease_until": until,
        }

    @contextmanager
    def keeping(self) -> Iterator[list[WorkItem]]:
        """Within the block, the first item due now that this thread's commits queue is
        inserted already claimed by this process and added to the list the block yields:
        the thread carries it out next, with no claim (a round trip and a wake-up fewer)."""
        kept: list[WorkItem] = []
        self._keeping.kept = kept
        try:
            yield kept
        finally:
            self._keeping.kept = None

    def to_keep(self, items: Sequence[WorkItem]) -> WorkItem | None:
        """The one of `items`, queued by a commit of this thread, that its `keeping` block
        takes (insert it with `row(..., claimed=True)`, then call `keep`); else None."""
        kept = self._keeping.kept
        if kept is None or kept:  # outside a block, or it has kept one already
            return None
        now = self.clock.now()
        return next((item for item in items if item.due <= now), None)

    def keep(self, item: WorkItem, row_id: int) -> None:
        """The commit of `to_keep`'s `item` inserted it claimed as row `row_id`."""
        kept = self._keeping.kept
        assert kept is not None, "keep() outside a keeping() block"
        kept.append(replace(item, id=row_id))

    def admit(self, items: Iterable[WorkItem]) -> None:
        """Queue new work in a transaction of its own, or raise QueueFull."""
        items = list(items)
        write(self.engine, lambda conn: self.admit_in(conn, items))
        self.wake()

    def offer(self, items: Iterable[WorkItem]) -> None:
        """Queue follow-up work in a transaction of its own."""
        items = list(items)
        write(self.engine, lambda conn: self.offer_in(conn, items))
        self.wake()

    def claim(self, timeout: float = 1.0, stop: threading.Event | None = None) -> WorkItem | None:
        """Lease the next due row, or None after `timeout` real seconds."""
        items = self.claim_many(1, timeout, stop)
        return items[0] if items else None

    def claim_many(
        self, limit: int, timeout: float = 1.0, stop: threading.Event | None = None
    ) -> list[WorkItem]:
        """Lease up to `limit` due rows in one statement, or none after `timeout` real seconds."""
        deadline = time.monotonic() + timeout
        poll = MIN_POLL
        while not self._closed and not (stop and stop.is_set()):
            items = self._claim_due(limit)
            if items:
                return items
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with self._wakeup:
                self._wakeup.wait(min(poll, remaining))
            poll = min(poll * 2, MAX_POLL)
        return []

    def _claim_due(self, limit: int) -> list[WorkItem]:
        now = self.clock.now()
        postgres = self.engine.dialect.name == "postgresql"
        if not postgres:
            # Look first, without the write lock: idle workers polling must not queue up
            # behind (or in front of) the writers that serve requests. PostgreSQL's claim
            # locks only the rows it takes, and an empty one writes nothing.
            with reading(self.engine, single=True) as conn:
                if conn.execute(_LOOK, {"now": now}).first() is None:
                    return []
        claim = {"now": now, "limit": limit, "owner": self.owner, "until": now + self.lease}
        rows = alone(self.engine, _CLAIM[postgres], claim)
        rows = sorted(rows, key=lambda row: (row["due"], row["id"]))
        return [
            WorkItem(
                WorkKind(row["kind"]),
                row["run_id"],
                row["step"],
                row["attempt"],
                row["due"],
                id=row["id"],
                redelivered=row["deliveries"] > 1,
            )
            for row in rows
        ]

    def done(self, item: WorkItem) -> None:
        """Delete a claimed row (unless its lease ran out and another worker took it); no
        round trip when the commit that settled the item deleted it (`finish_in`)."""
        with self._finished_lock:
            if item.id in self._finished:
                del self._finished[item.id]
                return
        alone(self.engine, _DONE, {"item": item.id, "owner": self.owner})

    def finishing(self, item: WorkItem) -> tuple[int, str] | None:
        """(row id, lease owner) for a statement that deletes the claimed `item` as `done`
        would; None for an item that is not a row."""
        return None if item.id is None else (item.id, self.owner)

    def finish_in(self, conn: Connection, item: WorkItem) -> None:
        """Within `conn`'s transaction: delete the claimed `item`, as `done` would."""
        conn.execute(_DONE, {"item": item.id, "owner": self.owner})

    def finished(self, item: WorkItem) -> None:
        """The commit that settled `item` deleted its row: its `done` makes no round trip."""
        with self._finished_lock:
            self._finished[item.id] = None
            while len(self._finished) > FINISHED_KEPT:
                self._finished.popitem(last=False)

    def release(self, item: WorkItem, delay: float) -> None:
        """Let the item's lease end `delay` from now: it is then claimed again, redelivered
        (an item a commit finished is gone already; its id is forgotten)."""
        with self._finished_lock:
            self._finished.pop(item.id, None)
        later = {"item": item.id, "owner": self.owner, "until": self.clock.now() + delay}
        alone(self.engine, _RELEASE, later)

    def renew(self, items: Iterable[WorkItem]) -> None:
        """Extend the leases of rows this process is still working on."""
        ids = [item.id for item in items if item.id is not None]
        if not ids:
            return
        renewed = {"items": ids, "owner": self.owner, "until": self.clock.now() + self.lease}
        alone(self.engine, _RENEW, renewed)

    def holder_stalled(self, item: WorkItem) -> bool:
        """Whether the attempt `item` names is held by a worker that stopped renewing its
        claim (it died): the claim's last renewal, its end less one lease, is STALLED_AFTER
        old. Every process is taken to hold claims for the same lease (OPSCORE_WORK_LEASE);
        this process's own claims are alive (its watchdog sees to handlers that overrun)."""
        with reading(self.engine) as conn:
            lease_until = conn.execute(
                select(work.c.lease_until).where(
                    work.c.lease_owner != self.owner,
                    work.c.kind == WorkKind.DISPATCH.value,
                    work.c.run_id == item.run_id,
                    work.c.step == item.step,
                    work.c.attempt == item.attempt,
                    work.c.lease_owner.is_not(None),
                )
            ).scalar()
        if lease_until is None:
            return False
        return lease_until - self.lease < self.clock.now() - STALLED_AFTER

    def wake(self) -> None:
        """Wake this process's idle workers (new work, or the clock moved)."""
        with self._wakeup:
            self._wakeup.notify_all()

    def close(self) -> None:
        """Stop handing out work in this process."""
        self._closed = True
        self.wake()

    def depth(self) -> int:
        """Due rows nobody holds a lease on."""
        now = self.clock.now()
        with reading(self.engine) as conn:
            return conn.execute(
                select(func.count())
                .select_from(work)
                .where(
                    work.c.due <= now, (work.c.lease_until.is_(None)) | (work.c.lease_until < now)
                )
            ).scalar_one()

    def next_due(self) -> float | None:
        """When the earliest unclaimed row is due, if any."""
        with reading(self.engine) as conn:
            return conn.execute(
                select(func.min(work.c.due)).where(work.c.lease_owner.is_(None))
            ).scalar_one()
