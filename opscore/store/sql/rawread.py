"""SQLite's reads on every answer, run on the driver's cursor past SQLAlchemy's execution.

An event reads its instance, and its answer reads the agent's heartbeat. Through
SQLAlchemy each of those one-row reads costs about 56 us of CPU on SQLite, of which
SQLite's own work is 3 (connection checkout, execution context, result and type
processing are the rest). A `RawRead` compiles its statement once, with SQLAlchemy, and
runs it on a pooled connection's DBAPI cursor: about 10 us. What SQLAlchemy's types did
for these columns is done here: JSON columns are decoded as its JSON type stores them.
Other dialects keep SQLAlchemy's path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Engine, Select


class RawRead:
    """One SELECT, compiled once for `engine`'s SQLite, run on the driver's cursor."""

    def __init__(self, engine: Engine, statement: Select) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())  # SQLite's `?` are positional
        self._json = {c.name for c in statement.selected_columns if isinstance(c.type, JSON)}

    @staticmethod
    def applies(engine: Engine) -> bool:
        return engine.dialect.name == "sqlite"

    def rows(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row, as a dict of column name to value (JSON columns decoded)."""
        connection = self._engine.raw_connection()  # pooled: returned, rolled back, on close
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, [params[name] for name in self._order])
                names = [column[0] for column in cursor.description]
                found = cursor.fetchall()
            finally:
                cursor.close()
        finally:
            connection.close()
        return [self._decoded(dict(zip(names, row, strict=True))) for row in found]

    def _decoded(self, row: dict[str, Any]) -> dict[str, Any]:
        for name in self._json:
            if row[name] is not None:
                row[name] = json.loads(row[name])
        return row
