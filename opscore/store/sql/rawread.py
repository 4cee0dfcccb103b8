"""The reads on every answer, run on the driver's cursor past SQLAlchemy's execution.

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
`ROLLBACK`. Other drivers keep SQLAlchemy's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Engine, Select

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
        connection = self._engine.raw_connection()  # pooled: returned, rolled back, on close
        try:
            if self._sqlite:
                names, found = self._fetch(connection, bound)
            else:
                names, found = self._fetch_in_autocommit(connection, bound)
        finally:
            connection.close()
        return [self._decoded(dict(zip(names, row, strict=True))) for row in found]

    def _fetch_in_autocommit(self, connection: Any, bound: Any) -> tuple[list[str], list[Any]]:
        driver = connection.driver_connection
        driver.autocommit = True  # the statement is its own transaction
        try:
            return self._fetch(connection, bound)
        finally:
            if driver.broken:  # never back in the pool, where it would stay in autocommit
                connection.invalidate()
            else:
                driver.autocommit = False  # the pool's transactions need it off again

    def _fetch(self, connection: Any, bound: Any) -> tuple[list[str], list[Any]]:
        cursor = connection.cursor()
        try:
            cursor.execute(self._sql, bound)
            return [column[0] for column in cursor.description], cursor.fetchall()
        finally:
            cursor.close()

    def _decoded(self, row: dict[str, Any]) -> dict[str, Any]:
        for name in self._json:
            if row[name] is not None:
                row[name] = jsoncolumns.loads(row[name])
        return row
