"""Reads past SQLAlchemy (`opscore.store.sql.rawread`) return what its types would, on
SQLite and PostgreSQL; an event's writes, run past it too (PostgreSQL's one-statement
commit, SQLite's UPDATE and INSERT), store what its types would."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.store.sql.schema import transitions
from opscore.store.sql.store import GET_INSTANCE, _instance
from tests.support.backends import close_store, database_url, make_store


@pytest.fixture(params=["sqlite", "postgresql"])
def core(request, tmp_path, definitions, callbacks):
    clock = ManualClock()
    store = make_store(database_url(request.param, tmp_path), clock)
    yield OpsCore(definitions, store, callbacks, clock=clock)
    close_store(store)


def test_reads_past_sqlalchemy_return_what_its_types_would(core):
    metadata = {"team": "t", "nested": {"list": [1, 2.5, None, "é"]}}
    core.agents.register(agent_id="a2", name="n", capabilities=["x", "y"], metadata=metadata)
    core.agents.fire_event("a2", "activate")
    fresh = core.store.get("agent", "a2")
    with core.store.engine.connect() as conn:
        through_sqlalchemy = conn.execute(GET_INSTANCE, {"of_kind": "agent", "of_id": "a2"})
        row = through_sqlalchemy.mappings().one()
    assert fresh == _instance(row)
    assert (fresh.state, fresh.capabilities, fresh.metadata) == ("active", ("x", "y"), metadata)


# JSON that an encoder could get wrong: escapes, a line separator, an integer past 64 bits
# (orjson refuses it: the standard encoder writes it), text that looks like a placeholder.
AWKWARD = {
    "nested": {"list": [1, 2.5, None, True, "é", "\u2028", 'q"uo\\te']},
    "big": 2**70,
    "placeholder": "%(of_id)s %s",
}


def test_a_commit_written_past_sqlalchemy_stores_what_its_types_would(core):
    core.agents.register(agent_id="a3", metadata=AWKWARD)
    fired = core.agents.fire_event("a3", "activate", AWKWARD)  # one statement on PostgreSQL
    with core.store.engine.connect() as conn:
        row = conn.execute(GET_INSTANCE, {"of_kind": "agent", "of_id": "a3"}).mappings().one()
        data = conn.execute(
            select(transitions.c.data).where(transitions.c.gid == fired.record.gid)
        ).scalar_one()
    assert _instance(row).metadata == AWKWARD
    assert (_instance(row).state, data) == ("active", AWKWARD)
