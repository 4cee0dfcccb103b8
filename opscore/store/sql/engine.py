"""Connecting to the SQL store: URL normalisation, SQLite pragmas, one writer at a time."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from . import jsoncolumns
from .group import GroupCommit
from .writer import WriterLock

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT = 30.0
READ_ONLY = "opscore_read_only"
SINGLE_READ = "opscore_single_read"
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
PING_IDLE_AFTER = 1.0  # seconds a pooled server connection may rest before it is checked
_RETURNED = "opscore_returned"
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()
_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_JSON_COLUMNS = {"json_serializer": jsoncolumns.dumps, "json_deserializer": jsoncolumns.loads}


def reading(engine: Engine, single: bool = False) -> Any:
    """A connection for reads only (on SQLite it does not take the write lock).

    `single`: the connection runs one statement, which is then its own read transaction:
    no `BEGIN` on SQLite, and on PostgreSQL neither `BEGIN` nor `ROLLBACK` (autocommit),
    round trips fewer on every event's path.
    """
    conn = autocommit(engine) if single and engine.dialect.name != "sqlite" else engine.connect()
    return conn.execution_options(**{READ_ONLY: True, SINGLE_READ: single})


@contextmanager
def writing(engine: Engine) -> Iterator[Any]:
    """A write transaction; on SQLite, writers queue on a `WriterLock` before `BEGIN`."""
    lock = _WRITER_LOCKS.get(engine)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock.held(), engine.begin() as conn:
        yield conn


def group_commit(engine: Engine) -> GroupCommit | None:
    """The group commit of a SQLite engine made by `connect` (None for other engines)."""
    return _GROUPS.get(engine)


def write(engine: Engine, change: Callable[[Any], T]) -> T:
    """Run `change(conn)` in a write transaction and return its value once it is committed.

    On SQLite the transaction is shared with the other writes of this process that arrive
    meanwhile (group commit, see `group.py`); `change` may then run in a savepoint.
    """
    group = _GROUPS.get(engine)
    if group is not None:
        return group.run(change)
    with engine.begin() as conn:
        return change(conn)


def alone(engine: Engine, statement: Any, params: Any = None) -> Any:
    """Run one write statement as a transaction of its own; the rows it returns, if any.

    A statement is atomic by itself, so on PostgreSQL it runs in autocommit: no `BEGIN`
    and `COMMIT` round trips around it. On SQLite it joins the group commit (`write`).
    """
    if engine.dialect.name == "sqlite":
        return write(engine, lambda conn: _rows(conn.execute(statement, params)))
    with autocommit(engine) as conn:
        return _rows(conn.execute(statement, params))


def autocommit(engine: Engine) -> Any:
    """A connection on which each statement commits on its own (PostgreSQL: no `BEGIN`)."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _rows(result: Any) -> list[Any]:
    return list(result.mappings()) if result.returns_rows else []


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; other URLs are left as they are."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def connect(url: str, synchronous: str = "FULL") -> Engine:
    """An engine for `url`; a SQLite file gets WAL, a busy timeout and immediate transactions."""
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"SQLite synchronous mode must be one of {SYNCHRONOUS_MODES}")
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(parsed, pool_size=10, max_overflow=10, **_JSON_COLUMNS)
        ping_when_idle(engine, PING_IDLE_AFTER)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False},
        **_JSON_COLUMNS,
    )
    _sqlite_single_writer(engine, synchronous)
    lock = _WRITER_LOCKS[engine] = WriterLock(parsed.database, SQLITE_BUSY_TIMEOUT)
    _GROUPS[engine] = GroupCommit(engine, lock)
    return engine


def ping_when_idle(
    engine: Engine, after: float, clock: Callable[[], float] = time.monotonic
) -> None:
    """Check a pooled connection with a ping before handing it out, if it rested `after`
    seconds or more since its last use; a dead one is replaced.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip for each of an
    event's transactions. A connection the server closed (a restart, an idle timeout) is
    one that rested; one that dies while in use fails its statement, and SQLAlchemy then
    discards the whole pool, so the next checkouts connect afresh either way.
    """

    @event.listens_for(engine, "connect")
    def on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = clock()

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = clock()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if clock() - record.info.get(_RETURNED, float("-inf")) < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError() from error  # the pool connects anew
            raise


def _sqlite_single_writer(engine: Engine, synchronous: str) -> None:
    """Take SQLite's write lock at BEGIN, so writers queue instead of failing mid-transaction."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the `begin` hook emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Reads (marked by `reading`) need no lock under WAL; writes take it up front.
        options = connection.get_execution_options()
        if options.get(SINGLE_READ, False):
            return  # one statement: SQLite reads it in a transaction of its own
        connection.exec_driver_sql("BEGIN" if options.get(READ_ONLY, False) else "BEGIN IMMEDIATE")
