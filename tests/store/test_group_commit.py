"""Group commit on SQLite: writes that wait on a commit in flight share the next transaction,
and a write of a group that fails, fails alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.errors import RevisionConflict
from opscore.model import Instance, TransitionRecord
from opscore.store.sql.engine import group_commit, write
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH
from tests.support.polling import poll_until

GROUP = 8


@pytest.fixture
def store(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'opscore.db'}", ManualClock())
    yield store
    close_store(store)


@pytest.fixture
def transactions(store) -> list[str]:
    """Every write transaction the store's engine begins, in order."""
    begun: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.append(statement)

    return begun


def in_one_group(store, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads while a commit is held in flight, so that they all queue for
    the next group; the value or exception of each, in order."""
    group = group_commit(store.engine)
    entered, release = threading.Event(), threading.Event()

    def hold(_conn: Any) -> None:
        entered.set()
        release.wait(30)

    holder = threading.Thread(target=write, args=(store.engine, hold))
    holder.start()
    poll_until(entered.is_set, what="the held commit to start")
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    try:
        poll_until(lambda: group.waiting() == len(calls), what=f"{len(calls)} waiting writes")
    finally:
        release.set()
        holder.join(30)
    for thread in threads:
        thread.join(30)
    return outcomes


def agent(agent_id: str) -> Instance:
    return Instance(
        id=agent_id, kind="agent", machine="agent", version=1, state="idle", created_at=1.0
    )


def activated(instance: Instance) -> tuple[Instance, TransitionRecord]:
    after = instance.evolve(state="active", revision=instance.revision + 1, seq=1, updated_at=2.0)
    record = TransitionRecord(
        instance_id=instance.id,
        kind="agent",
        machine="agent",
        version=1,
        seq=1,
        event="activate",
        source="idle",
        dest="active",
        at=2.0,
    )
    return after, record


def test_writes_waiting_on_a_commit_in_flight_share_the_next_transaction(store, transactions):
    agents = [agent(f"a{n}") for n in range(GROUP)]
    for instance in agents:
        store.insert(instance)
    transactions.clear()

    def commit(instance: Instance) -> Callable[[], Any]:
        after, record = activated(instance)
        return lambda: store.commit(after, instance.revision, record)

    outcomes = in_one_group(store, [commit(instance) for instance in agents])

    assert all(isinstance(record, TransitionRecord) and record.gid for record in outcomes)
    assert len(transactions) == 2  # the held one, then the whole group in one
    assert {store.get("agent", a.id).state for a in agents} == {"active"}


def test_a_conflicting_write_in_a_group_fails_alone_and_the_others_commit(store, transactions):
    agents = [agent(f"a{n}") for n in range(GROUP)]
    for instance in agents:
        store.insert(instance)
    transactions.clear()
    stale = agents[3].revision - 1

    def commit(instance: Instance) -> Callable[[], Any]:
        after, record = activated(instance)
        expected = stale if instance.id == "a3" else instance.revision
        return lambda: store.commit(after, expected, record)

    outcomes = in_one_group(store, [commit(instance) for instance in agents])

    assert isinstance(outcomes[3], RevisionConflict)
    assert all(isinstance(o, TransitionRecord) for n, o in enumerate(outcomes) if n != 3)
    assert len(transactions) == 2
    assert store.get("agent", "a3").state == "idle"
    assert store.history("a3").total == 0
    others = [a.id for a in agents if a.id != "a3"]
    assert [store.get("agent", a).state for a in others] == ["active"] * (GROUP - 1)
    assert [store.history(a).total for a in others] == [1] * (GROUP - 1)


def test_a_conflicting_create_in_a_group_answers_409_while_the_others_commit(
    store, transactions, definitions, callbacks
):
    app = create_app(
        {"api_keys": API_KEY, "log_level": "WARNING"}, core=OpsCore(definitions, store, callbacks)
    )
    ids = ["dup", "dup"] + [f"a{n}" for n in range(GROUP - 2)]

    def create(agent_id: str) -> Callable[[], Any]:
        return lambda: app.test_client().post("/v1/agents", json={"id": agent_id}, headers=AUTH)

    responses = in_one_group(store, [create(agent_id) for agent_id in ids])

    assert sorted(r.status_code for r in responses[:2]) == [201, 409]
    assert [r.status_code for r in responses[2:]] == [201] * (GROUP - 2)
    assert len(transactions) == 2
    listed = app.test_client().get("/v1/agents?page_size=100", headers=AUTH).get_json()
    assert sorted(a["id"] for a in listed) == sorted(set(ids))
