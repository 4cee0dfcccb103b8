"""The statements one event costs on SQLite: a read of the instance, and one write
transaction of the state row and the history row (plus one upsert for an Idempotency-Key);
and the answer's heartbeat read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.services.idempotency import IdempotentRequest
from tests.support.backends import close_store, make_store


@pytest.fixture
def core(tmp_path, definitions, callbacks):
    clock = ManualClock()
    store = make_store(f"sqlite:///{tmp_path / 'opscore.db'}", clock)
    core = OpsCore(definitions, store, callbacks, clock=clock)
    core.agents.register(agent_id="a1")
    yield core
    close_store(store)


@pytest.fixture
def statements(core) -> list[str]:
    """The first word of every statement SQLite runs, as SQLite's trace sees them (the
    reads on every answer go past SQLAlchemy, straight to the driver: `rawread`)."""
    seen: list[str] = []

    def record(statement: str) -> None:
        seen.append(statement.split()[0].upper())

    @event.listens_for(core.store.engine, "checkout")
    def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_trace_callback(record)

    @event.listens_for(core.store.engine, "checkin")
    def untrace(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.set_trace_callback(None)

    return seen


def test_an_event_without_a_key_is_one_read_and_one_write_transaction(core, statements):
    core.agents.fire_event("a1", "activate")
    assert statements == ["SELECT", "BEGIN", "UPDATE", "INSERT", "COMMIT"]


def test_an_idempotency_key_adds_one_statement_only(core, statements):
    kept = IdempotentRequest("k1", "fp", lambda fired: (200, {"ok": True}, {}))
    core.agents.fire_event("a1", "activate", idempotency=kept)
    assert statements == ["SELECT", "BEGIN", "UPDATE", "INSERT", "INSERT", "COMMIT"]
    assert core.store.get_idempotency("k1").body == {"ok": True}


def test_the_heartbeat_an_answer_shows_is_one_read(core, statements):
    core.agents.liveness.beat("a1")
    statements.clear()
    [beat] = core.agents.liveness.seen(["a1"]).values()
    assert statements == ["SELECT"]
    assert (beat.agent_id, beat.last_seen) == ("a1", core.clock.now())


def test_an_events_write_statements_run_on_the_drivers_cursor_past_sqlalchemy(core, statements):
    through_sqlalchemy: list[str] = []

    @event.listens_for(core.store.engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        through_sqlalchemy.append(statement.split()[0].upper())

    core.agents.fire_event("a1", "activate")
    assert statements == ["SELECT", "BEGIN", "UPDATE", "INSERT", "COMMIT"]
    assert through_sqlalchemy == ["BEGIN"]  # the transaction is still SQLAlchemy's
