"""PostgreSQL: an event's state row and history row written by one statement.

Most commits change one instance and append its transition record, nothing else (no
idempotency record, notes, work or linked changes). On PostgreSQL such a commit is one
statement: a data-modifying `WITH` that updates the instance's row if it is still at the
expected revision, trims its history past the cap, and appends the record only if the row
was updated. A statement is atomic on its own, so it runs in autocommit: one round trip
instead of four (`BEGIN`, `UPDATE`, `INSERT`, `COMMIT`), and the same commit and fsync.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Integer, bindparam, delete, insert, select, update

from .schema import instances, transitions

SET = ("version", "state", "revision", "seq", "updated_at", "metadata", "context", "waiting_for")
APPENDED = tuple(column for column in transitions.c if column.name != "gid")


def _statement() -> Any:
    updated = (
        update(instances)
        .where(
            instances.c.kind == bindparam("of_kind"),
            instances.c.id == bindparam("of_id"),
            instances.c.revision == bindparam("expected_revision"),
        )
        .values({name: bindparam(name, type_=instances.c[name].type) for name in SET})
        .returning(instances.c.id)
        .cte("updated")
    )
    trimmed = (
        delete(transitions)
        .where(
            transitions.c.instance_id.in_(select(updated.c.id)),
            transitions.c.seq <= bindparam("trim_to", type_=Integer),
        )
        .cte("trimmed")
    )
    row = select(*(bindparam(f"t_{c.name}", type_=c.type) for c in APPENDED)).select_from(updated)
    return (
        insert(transitions)
        .from_select([column.name for column in APPENDED], row)
        .add_cte(trimmed)
        .returning(transitions.c.gid)
    )


STATEMENT = _statement()


def applies(engine: Engine) -> bool:
    """Whether `engine`'s database takes the statement (PostgreSQL does; SQLite has no
    data-modifying `WITH`)."""
    return engine.dialect.name == "postgresql"


def write(
    conn: Connection, values: dict[str, Any], row: dict[str, Any], trim_to: int
) -> int | None:
    """Run the statement on an autocommit `conn`: the new record's gid, or None when no row
    was at the expected revision (then nothing was written).

    `values`: the instance row's new values and `of_kind`, `of_id`, `expected_revision`;
    `row`: the transition row; `trim_to`: history records of `seq` up to it are dropped.
    """
    params = {**values, "trim_to": trim_to, **{f"t_{name}": value for name, value in row.items()}}
    return conn.execute(STATEMENT, params).scalar_one_or_none()
