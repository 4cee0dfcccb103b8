"""The reads on every answer, and an event's writes, run on the driver's cursor past
SQLAlchemy's execution.

An event reads its instance, its answer reads the agent's heartbeat, and a run's step
reads the run twice. Through SQLAlchemy each of those one-row reads costs about 56 us of
CPU on SQLite, of which SQLite's own work is 3 (connection checkout, execution context,
result and type processing are the rest), and as much again on PostgreSQL. A `RawRead`
compiles its statement once, with SQLAlchemy, and runs it on a pooled connection's DBAPI
cursor: about 10 us of that on SQLite. What SQLAlchemy's types did for these columns is
done here: on SQLite JSON columns are decoded as its JSON type stores them
(`jsoncolumns`); psycopg decodes PostgreSQL's `json` (with the engine's decoder, which
SQLAlchemy hands it). On PostgreSQL
the read runs in autocommit, as `engine.reading(single=True)` does: no `BEGIN` and no
`ROLLBACK`. An event's writes take the same path (`RawWrite`). Other drivers keep
SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Select

from . import jsoncolumns

DRIVERS = (("sqlite", "pysqlite"), ("postgresql", "psycopg"))


class RawRead:
    """One SELECT, compiled once for `engine`'s dialect, run on the driver's cursor."""

    def __init__(self, engine: Engine, statement: Select) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._sqlite = engine.dialect.name == "sqlite"
        json_columns = (c.name for c in statement.selected_columns if isinstance(c.type, JSON))
        self._json = set(json_columns) if self._sqlite else set()

    @staticmethod
    def applies(engine: Engine) -> bool:
        return (engine.dialect.name, engine.dialect.driver) in DRIVERS

    def rows(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row, as a dict of column name to value (JSON columns decoded)."""
        bound = params if self._order is None else [params[name] for name in self._order]
        names, found = on_driver_cursor(self._engine, self._sql, bound, self._sqlite)
        return [self._decoded(dict(zip(names, row, strict=True))) for row in found]

    def _decoded(self, row: dict[str, Any]) -> dict[str, Any]:
        for name in self._json:
            if row[name] is not None:
                row[name] = jsoncolumns.loads(row[name])
        return row


class RawWrite:
    """One data-modifying statement, compiled once for `engine`'s dialect and run on the
    driver's cursor: on PostgreSQL (psycopg) as a transaction of its own in autocommit
    (`first`), or on either driver inside a transaction SQLAlchemy opened (`within`).

    Through SQLAlchemy the one-statement commit of `onetrip` costs about 270 us of CPU
    against 130 on the driver's cursor; on SQLite an event's `UPDATE` and `INSERT` cost
    some 90 us more together (`fire_event` in one thread: 472-549 against 385-426 us).
    JSON-typed parameters are encoded as the engine's JSON type would (`jsoncolumns`);
    PostgreSQL's casts (`::JSON`) take the text.
    """

    def __init__(self, engine: Engine, statement: Any) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._json = {name for name, bind in compiled.binds.items() if isinstance(bind.type, JSON)}

    @staticmethod
    def applies(engine: Engine) -> bool:
        """Whether `within` runs on `engine`'s driver."""
        return (engine.dialect.name, engine.dialect.driver) in DRIVERS

    @staticmethod
    def autocommits(engine: Engine) -> bool:
        """Whether `first` runs on `engine`'s driver (PostgreSQL with psycopg)."""
        return (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")

    def first(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """As a transaction of its own: the first row the statement returns, or None."""
        _, found = on_driver_cursor(self._engine, self._sql, self._bound(params), sqlite=False)
        return tuple(found[0]) if found else None

    def within(self, conn: Connection, params: Mapping[str, Any]) -> tuple[int, Any]:
        """In `conn`'s transaction: the rows the statement changed, and the first row it
        returns (None if it returns none)."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(self._sql, self._bound(params))
            returned = cursor.fetchone() if cursor.description is not None else None
            return cursor.rowcount, returned
        finally:
            cursor.close()

    def _bound(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters: JSON ones encoded (`params` is left as it is)."""
        bound = dict(params)
        for name in self._json & bound.keys():
            bound[name] = jsoncolumns.dumps(bound[name])
        return bound if self._order is None else [bound[name] for name in self._order]


def on_driver_cursor(
    engine: Engine, sql: str, bound: Any, sqlite: bool
) -> tuple[list[str], list[Any]]:
    """Run `sql` on a pooled connection's driver cursor: its column names and rows. On
    PostgreSQL in autocommit (the statement is its own transaction); a connection that broke
    meanwhile is dropped from the pool, never put back in autocommit."""
    connection = engine.raw_connection()  # pooled: returned, rolled back, on close
    try:
        if sqlite:
            return _fetch(connection, sql, bound)
        driver = connection.driver_connection
        driver.autocommit = True
        try:
            return _fetch(connection, sql, bound)
        finally:
            if driver.broken:
                connection.invalidate()
            else:
                driver.autocommit = False  # the pool's transactions need it off again
    finally:
        connection.close()


def _fetch(connection: Any, sql: str, bound: Any) -> tuple[list[str], list[Any]]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, bound)
        return [column[0] for column in cursor.description], cursor.fetchall()
    finally:
        cursor.close()
