"""PostgreSQL: a commit's instance row, its one history row and its follow-up work
written by one statement.

Most commits change one instance and append one row to its history (an event's transition
record, or the note of a run's step starting), and queue at most one work item (a run's next
step); no idempotency record, no linked changes. On PostgreSQL such a commit is one
statement: a data-modifying `WITH` that updates the instance's row if it is still at the
expected revision, trims its history past the cap, and appends the row, queues the work and
deletes the claimed item the commit finishes only if the instance's row was updated. A
statement is atomic on its own, so it runs in autocommit: one round trip instead of `BEGIN`,
two or three statements and `COMMIT`, and the same commit and fsync. It runs on psycopg's
cursor, past SQLAlchemy's execution (`rawread.RawWrite`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    bindparam,
    delete,
    exists,
    insert,
    select,
    update,
)

from .rawread import RawWrite
from .schema import instances, transitions, work

SET = ("version", "state", "revision", "seq", "updated_at", "metadata", "context", "waiting_for")
APPENDED = tuple(column for column in transitions.c if column.name != "gid")
QUEUED = ("kind", "run_id", "step", "attempt", "due", "deliveries", "lease_owner", "lease_until")


def _statement(queues: bool, finishes: bool) -> Any:
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
    statement = (
        insert(transitions)
        .from_select([column.name for column in APPENDED], row)
        .add_cte(trimmed)
        .returning(transitions.c.gid)
    )
    if queues:
        item = [bindparam(f"w_{name}", type_=work.c[name].type) for name in QUEUED]
        queued = (
            insert(work)
            .from_select(list(QUEUED), select(*item).select_from(updated))
            .returning(work.c.id)
            .cte("queued")
        )
        statement = statement.add_cte(queued).returning(
            select(queued.c.id).scalar_subquery().label("queued")
        )
    if finishes:  # the claim's own row, as SqlWorkQueue.done deletes it
        finished = (
            delete(work)
            .where(
                work.c.id == bindparam("d_id"),
                work.c.lease_owner == bindparam("d_owner"),
                exists(select(updated.c.id)),
            )
            .cte("finished")
        )
        statement = statement.add_cte(finished)
    return statement


# By (queues an item, finishes a claimed one).
STATEMENTS = {(q, f): _statement(q, f) for q in (False, True) for f in (False, True)}


def applies(engine: Engine) -> bool:
    """Whether `engine` takes the statement on its driver's cursor (PostgreSQL with psycopg;
    SQLite has no data-modifying `WITH`)."""
    return RawWrite.autocommits(engine)


class OneTrip:
    """The statement's forms compiled once for a PostgreSQL engine, run on the driver's
    cursor in autocommit (`RawWrite`): SQLAlchemy's execution cost as much CPU again."""

    def __init__(self, engine: Engine) -> None:
        self._forms = {key: RawWrite(engine, statement) for key, statement in STATEMENTS.items()}

    def write(
        self,
        values: dict[str, Any],
        row: dict[str, Any],
        trim_to: int,
        item: dict[str, Any] | None = None,
        finished: tuple[int, str] | None = None,
    ) -> tuple[int, int | None] | None:
        """Run the statement: the new history row's gid and the queued row's id (None when
        none was queued), or None when no instance row was at the expected revision (then
        nothing was written).

        `values`: the instance row's new values and `of_kind`, `of_id`, `expected_revision`;
        `row`: the history row; `trim_to`: history records of `seq` up to it are dropped;
        `item`: the work row to queue with it (`SqlWorkQueue.row`), if any; `finished`: (row
        id, lease owner) of the claimed item to delete with it, if any.
        """
        params = {**values, "trim_to": trim_to}
        params.update({f"t_{name}": value for name, value in row.items()})
        if item is not None:
            params.update({f"w_{name}": item[name] for name in QUEUED})
        if finished is not None:
            params["d_id"], params["d_owner"] = finished
        written = self._forms[item is not None, finished is not None].first(params)
        if written is None:
            return None
        return written[0], (written[1] if item is not None else None)
