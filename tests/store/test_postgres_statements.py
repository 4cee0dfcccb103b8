"""The round trips one event or run step costs on PostgreSQL: reads and writes that each
commit on their own (no BEGIN, COMMIT or ROLLBACK), and pooled connections pinged only
after a rest."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError

from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.errors import RevisionConflict
from opscore.model import TransitionRecord
from opscore.services.idempotency import IdempotentRequest
from opscore.services.lifecycle import Plan
from opscore.store import WorkItem
from opscore.store.sql.engine import normalize_url, ping_when_idle
from tests.support.backends import close_store, database_url, make_store

OWN = TransactionStatus.IDLE  # after the statement no transaction is open: it committed
OPEN = TransactionStatus.INTRANS  # a transaction is open: BEGIN went first, COMMIT follows


@pytest.fixture
def url(tmp_path):
    return database_url("postgresql", tmp_path)


@pytest.fixture
def core(url, definitions, callbacks):
    clock = ManualClock()
    store = make_store(url, clock)
    core = OpsCore(definitions, store, callbacks, clock=clock)
    core.agents.register(agent_id="a1")
    yield core
    close_store(store)


@pytest.fixture
def statements(core) -> list[tuple[str, TransactionStatus]]:
    """Each statement's first word, and whether a transaction was open after it: every
    statement run on a cursor of the pool's connections, SQLAlchemy's and the reads that
    go past it (`rawread`)."""
    seen: list[tuple[str, TransactionStatus]] = []

    class Recording(psycopg.Cursor):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            result = super().execute(query, *args, **kwargs)
            seen.append((str(query).split()[0].upper(), self.connection.info.transaction_status))
            return result

    @event.listens_for(core.store.engine, "checkout")
    def record(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.cursor_factory = Recording

    @event.listens_for(core.store.engine, "checkin")
    def stop(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.cursor_factory = psycopg.Cursor

    return seen


def test_an_event_is_one_read_and_one_statement_writing_both_rows(core, statements):
    core.agents.fire_event("a1", "activate")
    assert statements == [("SELECT", OWN), ("WITH", OWN)]
    assert [r.event for r in core.agents.history("a1").items] == ["activate"]


def test_an_event_with_an_idempotency_key_is_written_in_one_transaction(core, statements):
    kept = IdempotentRequest("k1", "fp", lambda fired: (200, {"ok": True}, {}))
    core.agents.fire_event("a1", "activate", idempotency=kept)
    assert statements == [("SELECT", OWN), ("UPDATE", OPEN), ("INSERT", OPEN), ("INSERT", OPEN)]
    assert core.store.get_idempotency("k1").body == {"ok": True}


def test_reading_heartbeats_is_one_statement_outside_a_transaction(core, statements):
    core.agents.liveness.seen(["a1"])
    assert statements == [("SELECT", OWN)]


def test_claiming_renewing_and_finishing_work_are_one_statement_each_committing_alone(
    core, statements
):
    queue = core.store.queue
    queue.offer([WorkItem("dispatch", "r1", "s", 1, core.clock.now())])
    statements.clear()
    item = queue.claim(0)
    queue.renew([item])
    queue.done(item)
    words = ["UPDATE", "UPDATE", "DELETE"]  # claim (no look first), renew, finish
    assert statements == [(word, OWN) for word in words]
    assert queue.depth() == 0


def _note(instance_id: str, at: float) -> TransitionRecord:
    """A feed-only record like a run step's `started` note (seq 0: not in the history)."""
    return TransitionRecord(
        instance_id=instance_id,
        kind="step",
        machine="agent",
        version=1,
        seq=0,
        event="started",
        source="s",
        dest="s",
        at=at,
        data={"step": "s", "attempt": 1, "status": "started"},
    )


def test_a_change_with_one_note_is_one_statement(core, statements):
    # A run's step starting: the run's row (its revision one up) and the step's note.
    agent = core.store.get("agent", "a1")
    note = _note("a1", core.clock.now())
    statements.clear()
    core.store.commit(agent.evolve(revision=agent.revision + 1), agent.revision, notes=[note])
    assert statements == [("WITH", OWN)]
    assert note.gid is not None
    assert core.store.get("agent", "a1").revision == agent.revision + 1


def test_an_event_with_its_follow_up_work_is_one_statement_queueing_it(core, statements):
    # A run's step settled and its next step queued.
    core.agents.fire_event("a1", "activate")
    statements.clear()
    item = WorkItem("dispatch", "r1", "s2", 1, core.clock.now())
    fired = core.agents.lifecycle.transact(
        "agent", "a1", lambda current: Plan("complete", work=(item,))
    )
    assert statements == [("SELECT", OWN), ("WITH", OWN)]  # the read, then the commit
    assert fired.record.gid is not None
    assert [(i.run_id, i.step) for i in core.store.queue.claim_many(4, 0)] == [("r1", "s2")]


def test_a_one_statement_commit_that_conflicts_queues_nothing(core, statements):
    agent = core.store.get("agent", "a1")
    item = WorkItem("dispatch", "r1", "s2", 1, core.clock.now())
    stale = agent.revision - 1
    with pytest.raises(RevisionConflict):
        core.store.commit(
            agent.evolve(revision=agent.revision + 1),
            stale,
            work=[item],
            notes=[_note("a1", core.clock.now())],
        )
    assert core.store.queue.depth() == 0
    assert core.store.get("agent", "a1").revision == agent.revision


@pytest.fixture
def pinged(url):
    """An engine of one pooled connection, pinged after 10 s of rest on a clock the test
    moves; its `pings` list counts the pings."""
    engine = create_engine(normalize_url(url), pool_size=1, max_overflow=0)
    now = [0.0]
    ping_when_idle(engine, 10.0, clock=lambda: now[0])
    engine.pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: engine.pings.append(1) or ping(conn)
    engine.now = now
    yield engine
    engine.dispose()


def _backend(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _terminate(url: str, pid: int) -> None:
    other = create_engine(normalize_url(url))
    with other.connect() as conn:  # waits up to 5 s for the backend to be gone
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)}, 5000)")
    other.dispose()


def test_a_connection_used_again_at_once_is_not_pinged(pinged):
    first = _backend(pinged)
    pinged.now[0] = 9.0
    assert _backend(pinged) == first
    assert pinged.pings == []


def test_a_connection_that_rested_and_died_is_replaced_before_use(pinged, url):
    dead = _backend(pinged)
    _terminate(url, dead)
    pinged.now[0] = 10.0
    assert _backend(pinged) != dead
    assert pinged.pings == [1]


def test_a_connection_that_died_without_resting_fails_its_statement(pinged, url):
    dead = _backend(pinged)
    _terminate(url, dead)
    with pytest.raises(OperationalError):
        _backend(pinged)
    assert _backend(pinged) != dead  # the pool was discarded: the next one is new


def test_a_read_past_sqlalchemy_gives_its_connection_back_out_of_autocommit(core):
    autocommit_when_returned: list[bool] = []

    @event.listens_for(core.store.engine, "checkin")
    def returned(dbapi_connection: Any, _record: Any) -> None:
        autocommit_when_returned.append(dbapi_connection.autocommit)

    core.store.get("agent", "a1")
    core.agents.liveness.seen(["a1"])
    assert autocommit_when_returned == [False, False]  # the pool's transactions stay whole


def _terminate_others(url: str) -> None:
    other = create_engine(normalize_url(url))
    with other.connect() as conn:  # every backend of this database but this one's
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    other.dispose()


def test_a_read_past_sqlalchemy_on_a_killed_connection_raises_the_servers_error_then_reconnects(
    core, url
):
    _terminate_others(url)
    with pytest.raises(psycopg.OperationalError, match="terminating connection"):
        core.store.get("agent", "a1")
    assert core.store.get("agent", "a1").state == "idle"


def test_a_commit_past_sqlalchemy_on_a_killed_connection_raises_the_servers_error_then_reconnects(
    core, url
):
    agent = core.store.get("agent", "a1")
    changed = agent.evolve(revision=agent.revision + 1)
    _terminate_others(url)
    with pytest.raises(psycopg.OperationalError, match="terminating connection"):
        core.store.commit(changed, agent.revision, notes=[_note("a1", core.clock.now())])
    assert core.store.get("agent", "a1").revision == agent.revision  # nothing was written
    core.store.commit(changed, agent.revision, notes=[_note("a1", core.clock.now())])
    assert core.store.get("agent", "a1").revision == agent.revision + 1


def test_a_commit_past_sqlalchemy_gives_its_connection_back_out_of_autocommit(core):
    autocommit_when_returned: list[bool] = []

    @event.listens_for(core.store.engine, "checkin")
    def returned(dbapi_connection: Any, _record: Any) -> None:
        autocommit_when_returned.append(dbapi_connection.autocommit)

    agent = core.store.get("agent", "a1")
    autocommit_when_returned.clear()
    core.store.commit(
        agent.evolve(revision=agent.revision + 1), agent.revision, notes=[_note("a1", 0.0)]
    )
    assert autocommit_when_returned == [False]
