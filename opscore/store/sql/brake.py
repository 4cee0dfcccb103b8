"""Failed authentications in the `failed_keys` table: one row per client address, counted
by one upsert, so concurrent failures in any process each get a count of their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, bindparam, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ..brake import NO_FAILURES, FailureWindow
from .engine import reading, write
from .schema import failed_keys

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
PURGE_EVERY = 1000  # failures counted by this process between sweeps of closed windows


class SqlFailedKeys:
    """Every process reads and counts the same rows; a failure is one upsert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counted = 0
        self._read = select(failed_keys).where(
            failed_keys.c.client == bindparam("client"),
            failed_keys.c.opened > bindparam("horizon"),
        )
        self._count = _count_statement(engine.dialect.name)
        self._purge = delete(failed_keys).where(failed_keys.c.opened <= bindparam("horizon"))

    def window(self, client: str, now: float, length: float) -> FailureWindow:
        with reading(self.engine, single=True) as conn:
            row = conn.execute(self._read, {"client": client, "horizon": now - length}).first()
        return NO_FAILURES if row is None else FailureWindow(row.failures, row.opened)

    def fail(self, client: str, now: float, length: float) -> FailureWindow:
        values = {"client": client, "failures": 1, "opened": now, "horizon": now - length}
        self._counted += 1
        purge = self._counted % PURGE_EVERY == 0

        def count(conn: Any) -> FailureWindow:
            if purge:
                conn.execute(self._purge, {"horizon": now - length})
            row = conn.execute(self._count, values).one()
            return FailureWindow(row.failures, row.opened)

        return write(self.engine, count)


def _count_statement(dialect: str) -> Any:
    """Insert the client's first failure, or add one to its open window, or open a new one.

    Both SET expressions read the row as it was, so a closed window restarts at 1, `now`.
    """
    values = _INSERTS[dialect](failed_keys)
    closed = failed_keys.c.opened <= bindparam("horizon")
    return values.on_conflict_do_update(
        index_elements=[failed_keys.c.client],
        set_={
            "failures": case((closed, 1), else_=failed_keys.c.failures + 1),
            "opened": case((closed, values.excluded.opened), else_=failed_keys.c.opened),
        },
    ).returning(failed_keys.c.failures, failed_keys.c.opened)
