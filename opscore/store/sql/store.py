"""The SQL store: instances, histories, idempotency records and work in one database.

Every write is one transaction: a commit updates the instance only if its revision is
still the one read (else RevisionConflict), appends its transition, keeps the
idempotency record and queues the follow-up work, or does none of it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ...clock import Clock, SystemClock
from ...config import (
    DEFAULT_HISTORY_CAP,
    DEFAULT_IDEMPOTENCY_TTL,
    DEFAULT_QUEUE_CAPACITY,
    DEFAULT_WORK_LEASE,
)
from ...errors import NOT_FOUND_BY_KIND, AlreadyExists, IdempotencyKeyTaken, RevisionConflict
from ...model import Change, IdempotencyRecord, Instance, Page, Query, TransitionRecord
from ..work import WorkItem
from . import onetrip
from .beats import SqlHeartbeats
from .brake import SqlFailedKeys
from .definitions import SqlDefinitionStore
from .engine import reading, write
from .push import SqlPushBook
from .queue import SqlWorkQueue
from .rawread import RawRead, RawWrite
from .schema import capabilities, idempotency, instances, transitions

# The statements of every event, built once: SQLAlchemy then skips rebuilding their
# clauses, which cost more than the database's own work (`make bench`, sqlite profile).
_THIS_INSTANCE = (instances.c.kind == bindparam("of_kind"), instances.c.id == bindparam("of_id"))
GET_INSTANCE = select(instances).where(*_THIS_INSTANCE)
UPDATE_INSTANCE = (
    update(instances)
    .where(*_THIS_INSTANCE, instances.c.revision == bindparam("expected_revision"))
    .values({name: bindparam(name, type_=instances.c[name].type) for name in onetrip.SET})
)
APPEND_TRANSITION = (
    insert(transitions)
    .values({c.name: bindparam(c.name, type_=c.type) for c in onetrip.APPENDED})
    .returning(transitions.c.gid)
)
FIND_INSTANCE = select(instances.c.id).where(*_THIS_INSTANCE)
_Replacement = tuple[Change, dict[str, Any], tuple[TransitionRecord, dict[str, Any]] | None]
PURGE_EVERY = 1000
WAIT_MARK = "|"  # around each agent a run waits for, in its `waiting_for` column (ids have none)
FEED_POLL = 0.5  # commits of other processes show up in live streams within this


class SqlStore:
    """A Store over SQLAlchemy Core: SQLite (embedded) or PostgreSQL (across hosts)."""

    def __init__(
        self,
        engine: Engine,
        history_cap: int = DEFAULT_HISTORY_CAP,
        idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL,
        clock: Clock | None = None,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        lease: float = DEFAULT_WORK_LEASE,
    ) -> None:
        self.engine = engine
        self.kind = engine.dialect.name
        self.history_cap = history_cap
        self.idempotency_ttl = idempotency_ttl
        self._clock = clock or SystemClock()
        self._writes = 0
        self._fed = threading.Condition()
        self.queue = SqlWorkQueue(engine, queue_capacity, self._clock, lease)
        self.heartbeats = SqlHeartbeats(engine)
        self.failed_keys = SqlFailedKeys(engine)
        self.push = SqlPushBook(engine)
        self._keep_key = _keep_key_statement(self.kind)
        self.definitions = SqlDefinitionStore(engine)
        self._one_trip = onetrip.OneTrip(engine) if onetrip.applies(engine) else None
        raw = RawWrite.applies(engine)  # an event's statements on the driver's cursor
        self._update = RawWrite(engine, UPDATE_INSTANCE) if raw else None
        self._insert = RawWrite(engine, APPEND_TRANSITION) if raw else None
        self._get = RawRead(engine, GET_INSTANCE) if RawRead.applies(engine) else None

    def after_fork(self) -> None:
        """In a forked process: drop the parent's pooled connections, get a new worker id."""
        self.engine.dispose(close=False)
        self.queue.after_fork()

    def insert(
        self,
        instance: Instance,
        idempotency: IdempotencyRecord | None = None,
        work: Sequence[WorkItem] = (),
        also: Sequence[Change] = (),
    ) -> None:
        """Add a new instance and admit its first work; on AlreadyExists or QueueFull, nothing."""
        row = _row(instance)
        changes = [self._prepared(change) for change in also]
        kept = self._idempotency_row(idempotency)
        owned = [{"instance_id": instance.id, "capability": c} for c in instance.capabilities]

        def change(conn: Connection) -> None:
            for prepared in changes:
                self._replace(conn, *prepared)
            found = conn.execute(
                FIND_INSTANCE, {"of_kind": instance.kind, "of_id": instance.id}
            ).first()
            if found is not None:
                raise AlreadyExists(instance.kind, instance.id)
            if work:
                self.queue.admit_in(conn, work)
            self._keep_idempotency(conn, kept)
            try:
                conn.execute(insert(instances).values(**row))
            except IntegrityError:
                raise AlreadyExists(instance.kind, instance.id) from None
            if owned:
                conn.execute(insert(capabilities), owned)

        write(self.engine, change)
        if also:
            self._wake_followers()

    def get(self, kind: str, instance_id: str) -> Instance:
        """The instance (InstanceNotFound otherwise)."""
        params = {"of_kind": kind, "of_id": instance_id}
        if self._get is not None:
            row = next(iter(self._get.rows(params)), None)
        else:
            with reading(self.engine, single=True) as conn:
                row = conn.execute(GET_INSTANCE, params).mappings().first()
        if row is None:
            raise NOT_FOUND_BY_KIND[kind](instance_id)
        return _instance(row)

    def count_by_version(self, machine: str) -> dict[int, int]:
        """How many instances each version of `machine` has."""
        query = (
            select(instances.c.version, func.count())
            .where(instances.c.machine == machine)
            .group_by(instances.c.version)
        )
        with reading(self.engine) as conn:
            return {version: count for version, count in conn.execute(query)}

    def find(self, kind: str, query: Query) -> Page[Instance]:
        """Instances of `kind` matching `query`, oldest first."""
        where = [instances.c.kind == kind]
        for column, value in (
            ("state", query.state),
            ("machine", query.machine),
            ("agent_id", query.agent_id),
        ):
            if value is not None:
                where.append(instances.c[column] == value)
        if query.waiting_for is not None:
            marked = f"{WAIT_MARK}{query.waiting_for}{WAIT_MARK}"
            where.append(instances.c.waiting_for.contains(marked, autoescape=True))
        if query.capability is not None:
            where.append(
                exists().where(
                    capabilities.c.instance_id == instances.c.id,
                    capabilities.c.capability == query.capability,
                )
            )
        with reading(self.engine) as conn:
            total = conn.execute(select(func.count()).select_from(instances).where(*where))
            rows = (
                conn.execute(
                    select(instances)
                    .where(*where)
                    .order_by(instances.c.created_at, instances.c.id)
                    .offset(query.offset)
                    .limit(query.limit)
                )
                .mappings()
                .all()
            )
            count = total.scalar_one()
        return Page([_instance(row) for row in rows], count)

    def delete(self, kind: str, instance_id: str) -> None:
        """Remove the instance, its capabilities and its history (InstanceNotFound otherwise)."""

        def change(conn: Connection) -> None:
            gone = conn.execute(
                delete(instances).where(instances.c.kind == kind, instances.c.id == instance_id)
            )
            if gone.rowcount == 0:
                raise NOT_FOUND_BY_KIND[kind](instance_id)
            conn.execute(delete(capabilities).where(capabilities.c.instance_id == instance_id))
            conn.execute(delete(transitions).where(transitions.c.instance_id == instance_id))

        write(self.engine, change)

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
        """Replace the instance, append its record and queue its follow-up work, atomically;
        delete the claimed row `finished` with them (its worker's `done` is then free)."""
        # Everything but the statements' execution is done here, before the writer lock.
        changes = [self._prepared(Change(instance, expected_revision, record))]
        changes += [self._prepared(change) for change in also]
        kept = self._idempotency_row(idempotency)
        noted = [(note, _transition_row(note)) for note in notes]
        appended = [changes[0][2]] if record is not None else []
        appended += noted
        finishing = None if finished is None else self.queue.finishing(finished)
        keeping = self.queue.to_keep(work)
        single = len(appended) == 1 and len(work) <= 1 and not (also or kept)
        if self._one_trip is not None and single:
            item = self.queue.row(work[0], claimed=keeping is not None) if work else None
            queued = self._write_one_trip(*changes[0][:2], appended[0], item, finishing)
            self._committed(work, finished if finishing else None, keeping, queued)
            self._wake_followers()
            return record

        def change(conn: Connection) -> int | None:
            for prepared in changes:
                self._replace(conn, *prepared)
            self._keep_idempotency(conn, kept)
            for note, row in noted:
                note.gid = self._append(conn, note, row)
            queued = self.queue.offer_in(conn, work, keeping) if work else None
            if finishing:
                self.queue.finish_in(conn, finished)
            return queued  # the id of the row queued claimed, if any

        queued = write(self.engine, change)
        self._committed(work, finished if finishing else None, keeping, queued)
        if record is not None or notes or also:
            self._wake_followers()
        return record

    def _committed(
        self,
        work: Sequence[WorkItem],
        finished: WorkItem | None,
        kept: WorkItem | None,
        kept_id: int | None,
    ) -> None:
        """After a commit: the item it queued claimed is kept (its thread takes it next), the
        workers are woken for the rest of its work, its finished item's row is gone."""
        if kept is not None and kept_id is not None:
            self.queue.keep(kept, kept_id)
        if any(item is not kept for item in work):
            self.queue.wake()
        if finished is not None:
            self.queue.finished(finished)

    def _prepared(self, change: Change) -> _Replacement:
        """The parameters of a change's statements, built before any lock is taken."""
        instance, record = change.instance, change.record
        values = {
            "of_kind": instance.kind,
            "of_id": instance.id,
            "expected_revision": change.expected_revision,
            "version": instance.version,  # an upgrade moves it
            "state": instance.state,
            "revision": instance.revision,
            "seq": instance.seq,
            "updated_at": instance.updated_at,
            "metadata": dict(instance.metadata),
            "context": dict(instance.context),
            "waiting_for": _waits(instance.waiting_for),
        }
        appended = None if record is None else (record, _transition_row(record))
        return change, values, appended

    def _replace(
        self,
        conn: Connection,
        change: Change,
        values: dict[str, Any],
        appended: tuple[TransitionRecord, dict[str, Any]] | None,
    ) -> None:
        """Within `conn`'s transaction: update the row if still at the expected revision."""
        if self._update is None:
            changed = conn.execute(UPDATE_INSTANCE, values).rowcount
        else:
            changed, _ = self._update.within(conn, values)
        if changed == 0:
            self._missing_or_conflict(conn, change.instance, change.expected_revision)
        if appended is not None:
            record, row = appended
            record.gid = self._append(conn, record, row)

    def _write_one_trip(
        self,
        change: Change,
        values: dict[str, Any],
        appended: tuple[TransitionRecord, dict[str, Any]],
        item: dict[str, Any] | None,
        finishing: tuple[int, str] | None,
    ) -> int | None:
        """A commit of one change, one history row, at most one work row and the claimed row
        it finishes, as one statement (`onetrip`); the id of the work row queued, if any."""
        record, row = appended
        seq = record.seq or 0  # a note (seq 0) trims nothing
        trim_to = seq - self.history_cap if seq > self.history_cap else 0
        written = self._one_trip.write(values, row, trim_to, item, finishing)
        if written is None:
            with reading(self.engine, single=True) as conn:
                self._missing_or_conflict(conn, change.instance, change.expected_revision)
        record.gid, queued = written
        return queued

    def _wake_followers(self) -> None:
        with self._fed:
            self._fed.notify_all()

    def history(
        self, instance_id: str, since_seq: int = 0, offset: int = 0, limit: int = 100
    ) -> Page[TransitionRecord]:
        """Kept transition records with `seq > since_seq`, oldest first."""
        where = (transitions.c.instance_id == instance_id, transitions.c.seq > since_seq)
        with reading(self.engine) as conn:
            total = conn.execute(select(func.count()).select_from(transitions).where(*where))
            rows = (
                conn.execute(
                    select(transitions)
                    .where(*where)
                    .order_by(transitions.c.seq)
                    .offset(offset)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
            count = total.scalar_one()
        return Page([_record(row) for row in rows], count)

    def feed(self, after_gid: int = 0, limit: int = 100) -> list[TransitionRecord]:
        """Every kept transition committed after `after_gid`, in commit order."""
        with reading(self.engine) as conn:
            rows = (
                conn.execute(
                    select(transitions)
                    .where(transitions.c.gid > after_gid)
                    .order_by(transitions.c.gid)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [_record(row) for row in rows]

    def feed_bounds(self) -> tuple[int, int]:
        """(oldest, newest) gid still in the feed; (0, 0) when it is empty."""
        with reading(self.engine) as conn:
            low, high = conn.execute(
                select(func.min(transitions.c.gid), func.max(transitions.c.gid))
            ).one()
        return low or 0, high or 0

    def wait_for_feed(self, after_gid: int, timeout: float) -> None:
        """Wait for a commit in this process, at most `timeout`; other processes are polled."""
        with self._fed:
            self._fed.wait(min(timeout, FEED_POLL))

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The unexpired record stored under `key`, if any."""
        horizon = self._clock.now() - self.idempotency_ttl
        with reading(self.engine, single=True) as conn:
            row = (
                conn.execute(
                    select(idempotency).where(
                        idempotency.c.key == key, idempotency.c.created_at >= horizon
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return IdempotencyRecord(
            row["key"],
            row["fingerprint"],
            row["status"],
            row["body"],
            row["created_at"],
            row["headers"],
        )

    def _missing_or_conflict(self, conn: Connection, instance: Instance, expected: int) -> NoReturn:
        found = conn.execute(
            select(instances.c.revision).where(
                instances.c.kind == instance.kind, instances.c.id == instance.id
            )
        ).first()
        if found is None:
            raise NOT_FOUND_BY_KIND[instance.kind](instance.id)
        raise RevisionConflict(instance.id, expected)

    def _append(self, conn: Connection, record: TransitionRecord, row: dict[str, Any]) -> int:
        if self._insert is None:
            gid = conn.execute(APPEND_TRANSITION, row).scalar_one()
        else:
            _, (gid,) = self._insert.within(conn, row)
        if record.seq and record.seq > self.history_cap:
            conn.execute(
                delete(transitions).where(
                    transitions.c.instance_id == record.instance_id,
                    transitions.c.seq <= record.seq - self.history_cap,
                )
            )
        return gid

    def _idempotency_row(self, record: IdempotencyRecord | None) -> dict[str, Any] | None:
        """The idempotency row to keep, with the horizon before which an old one is replaced."""
        if record is None:
            return None
        return {
            "key": record.key,
            "fingerprint": record.fingerprint,
            "status": record.status,
            "body": record.body,
            "headers": dict(record.headers),
            "created_at": record.created_at,
            "horizon": self._clock.now() - self.idempotency_ttl,
        }

    def _keep_idempotency(self, conn: Connection, row: dict[str, Any] | None) -> None:
        """Insert the row, or replace an expired one under its key (one statement)."""
        if row is None:
            return
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            conn.execute(delete(idempotency).where(idempotency.c.created_at < row["horizon"]))
        if conn.execute(self._keep_key, row).first() is None:
            raise IdempotencyKeyTaken(row["key"])


def _keep_key_statement(dialect: str) -> Any:
    """INSERT of an idempotency row that replaces only an expired row under the same key."""
    upsert = (postgresql if dialect == "postgresql" else sqlite).insert(idempotency)
    columns = ("fingerprint", "status", "body", "headers", "created_at")
    return upsert.on_conflict_do_update(
        index_elements=[idempotency.c.key],
        set_={name: upsert.excluded[name] for name in columns},
        where=idempotency.c.created_at < bindparam("horizon"),
    ).returning(idempotency.c.key)


def _transition_row(record: TransitionRecord) -> dict[str, Any]:
    return {
        "instance_id": record.instance_id,
        "kind": record.kind,
        "agent_id": record.agent_id,
        "machine": record.machine,
        "version": record.version,
        "seq": record.seq or None,  # feed-only notes have no place in the history
        "event": record.event,
        "source": record.source,
        "dest": record.dest,
        "at": record.at,
        "data": dict(record.data),
    }


def _row(instance: Instance) -> dict[str, Any]:
    return {
        "kind": instance.kind,
        "id": instance.id,
        "machine": instance.machine,
        "version": instance.version,
        "state": instance.state,
        "revision": instance.revision,
        "seq": instance.seq,
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
        "name": instance.name,
        "agent_id": instance.agent_id,
        "waiting_for": _waits(instance.waiting_for),
        "capabilities": list(instance.capabilities),
        "metadata": dict(instance.metadata),
        "context": dict(instance.context),
    }


def _waits(agents: tuple[str, ...]) -> str | None:
    """The agents a run waits for as the column keeps them: `|a|b|` (None for none)."""
    return f"{WAIT_MARK}{WAIT_MARK.join(agents)}{WAIT_MARK}" if agents else None


def _instance(row: Any) -> Instance:
    waits = row["waiting_for"]
    return Instance(
        **{
            **row,
            "capabilities": tuple(row["capabilities"]),
            "waiting_for": tuple(waits.strip(WAIT_MARK).split(WAIT_MARK)) if waits else (),
        }
    )


def _record(row: Any) -> TransitionRecord:
    return TransitionRecord(
        instance_id=row["instance_id"],
        kind=row["kind"],
        machine=row["machine"],
        version=row["version"],
        seq=row["seq"] or 0,
        event=row["event"],
        source=row["source"],
        dest=row["dest"],
        at=row["at"],
        data=row["data"],
        gid=row["gid"],
        agent_id=row["agent_id"],
    )
