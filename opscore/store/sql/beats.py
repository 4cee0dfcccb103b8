"""Heartbeats in the `heartbeats` table: one row per agent, upserted by each beat."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..liveness import Beat
from .engine import reading, writing
from .rawread import RawRead
from .schema import heartbeats

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class SqlHeartbeats:
    """Every process reads and writes the same rows; a beat is one upsert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        values = _INSERTS[engine.dialect.name](heartbeats)
        newer = heartbeats.c.last_seen <= values.excluded.last_seen
        self._upsert = values.on_conflict_do_update(
            index_elements=[heartbeats.c.agent_id],
            set_={"last_seen": values.excluded.last_seen, "due": values.excluded.due},
            where=newer,
        )
        # Built once: every answer that shows an agent reads its beat with it.
        ids = bindparam("ids", expanding=True)
        self._seen = select(heartbeats).where(heartbeats.c.agent_id.in_(ids))
        one = select(heartbeats).where(heartbeats.c.agent_id == bindparam("agent_id"))
        self._seen_one = RawRead(engine, one) if RawRead.applies(engine) else None

    def beat(self, agent_id: str, at: float, due: float | None) -> Beat:
        with writing(self.engine) as conn:
            conn.execute(self._upsert, {"agent_id": agent_id, "last_seen": at, "due": due})
            found = conn.execute(select(heartbeats).where(heartbeats.c.agent_id == agent_id))
            row = found.mappings().one()
        return _beat(row)

    def seen(self, agent_ids: Iterable[str]) -> dict[str, Beat]:
        ids = list(agent_ids)
        if not ids:
            return {}
        if len(ids) == 1 and self._seen_one is not None:  # an answer showing one agent
            rows = self._seen_one.rows({"agent_id": ids[0]})
            return {row["agent_id"]: _beat(row) for row in rows}
        with reading(self.engine, single=True) as conn:
            rows = conn.execute(self._seen, {"ids": ids}).mappings()
            return {row["agent_id"]: _beat(row) for row in rows}

    def overdue(self, now: float, limit: int) -> list[Beat]:
        unreported = or_(
            heartbeats.c.missed.is_(None), heartbeats.c.missed < heartbeats.c.last_seen
        )
        query = (
            select(heartbeats)
            .where(heartbeats.c.due <= now, unreported)
            .order_by(heartbeats.c.due)
            .limit(limit)
        )
        with reading(self.engine) as conn:
            return [_beat(row) for row in conn.execute(query).mappings()]

    def reported(self, agent_id: str, last_seen: float) -> None:
        this = and_(heartbeats.c.agent_id == agent_id, heartbeats.c.last_seen == last_seen)
        with writing(self.engine) as conn:
            conn.execute(update(heartbeats).where(this).values(missed=last_seen))

    def forget(self, agent_id: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(delete(heartbeats).where(heartbeats.c.agent_id == agent_id))


def _beat(row: Mapping[str, Any]) -> Beat:
    return Beat(row["agent_id"], row["last_seen"], row["due"], row["missed"])
