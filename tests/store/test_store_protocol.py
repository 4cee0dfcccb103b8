"""The store protocol, on every backend: atomic commits, revision checks, history, feed."""

from __future__ import annotations

import pytest

from opscore.clock import ManualClock
from opscore.errors import (
    AgentNotFound,
    AlreadyExists,
    IdempotencyKeyTaken,
    QueueFull,
    RevisionConflict,
)
from opscore.model import IdempotencyRecord, Instance, Query, TransitionRecord
from opscore.store import WorkItem
from tests.support.backends import close_store, make_store


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(backend, clock):
    store = make_store(backend, clock, capacity=3, history_cap=5)
    yield store
    close_store(store)


def agent(agent_id: str = "a1", **changes) -> Instance:
    fields = {
        "id": agent_id,
        "kind": "agent",
        "machine": "agent",
        "version": 1,
        "state": "idle",
        "created_at": 1.0,
        "capabilities": ("x",),
        "metadata": {"team": "t"},
    }
    return Instance(**{**fields, **changes})


def moved(instance: Instance, state: str, at: float = 2.0):
    seq = instance.seq + 1
    after = instance.evolve(state=state, revision=instance.revision + 1, seq=seq, updated_at=at)
    record = TransitionRecord(
        instance_id=instance.id,
        kind="agent",
        machine="agent",
        version=1,
        seq=seq,
        event=f"to_{state}",
        source=instance.state,
        dest=state,
        at=at,
        data={"n": seq},
    )
    return after, record


def idem(key: str, at: float) -> IdempotencyRecord:
    return IdempotencyRecord(key, "fp", 200, {"ok": True}, at, {"ETag": '"1"'})


def test_insert_then_get_round_trips_every_attribute(store):
    store.insert(agent(context={"failures": 1}))
    assert store.get("agent", "a1") == agent(context={"failures": 1})


def test_insert_of_a_taken_id_raises_and_keeps_the_first(store):
    store.insert(agent())
    with pytest.raises(AlreadyExists):
        store.insert(agent(name="other"))
    assert store.get("agent", "a1").name is None


def test_commit_with_a_stale_revision_raises_and_writes_nothing(store):
    first = agent()
    store.insert(first)
    after, record = moved(first, "active")
    store.commit(after, first.revision, record)
    again, other = moved(first, "paused")
    with pytest.raises(RevisionConflict):
        store.commit(again, first.revision, other)
    assert store.get("agent", "a1").state == "active"
    assert [r.event for r in store.history("a1").items] == ["to_active"]


def test_commit_of_a_missing_instance_raises_not_found(store):
    after, record = moved(agent(), "active")
    with pytest.raises(AgentNotFound):
        store.commit(after, 1, record)


def test_a_taken_idempotency_key_rolls_back_the_whole_commit(store, clock):
    first = agent()
    store.insert(first, idem("k", clock.now()))
    after, record = moved(first, "active")
    with pytest.raises(IdempotencyKeyTaken):
        store.commit(after, first.revision, record, idem("k", clock.now()))
    assert store.get("agent", "a1").revision == 1
    assert store.history("a1").total == 0


def test_expired_idempotency_records_are_forgotten(store, clock):
    store.insert(agent(), idem("k", clock.now()))
    assert store.get_idempotency("k").body == {"ok": True}
    clock.advance(store.idempotency_ttl + 1)
    assert store.get_idempotency("k") is None
    store.insert(agent("a2"), idem("k", clock.now()))
    assert store.get_idempotency("k").created_at == clock.now()


def test_history_is_capped_oldest_first_and_follows_since_seq(store):
    current = agent()
    store.insert(current)
    for i in range(8):
        after, record = moved(current, "active" if i % 2 == 0 else "idle", at=10.0 + i)
        store.commit(after, current.revision, record)
        current = after
    page = store.history("a1", limit=100)
    assert (page.total, [r.seq for r in page.items]) == (5, [4, 5, 6, 7, 8])
    assert [r.seq for r in store.history("a1", since_seq=6).items] == [7, 8]
    assert [r.seq for r in store.history("a1", offset=1, limit=2).items] == [5, 6]


def test_find_filters_and_pages_oldest_first(store):
    store.insert(agent("a1", created_at=1.0))
    store.insert(agent("a2", created_at=2.0, capabilities=()))
    store.insert(agent("a3", created_at=3.0, state="error"))
    assert [i.id for i in store.find("agent", Query()).items] == ["a1", "a2", "a3"]
    assert [i.id for i in store.find("agent", Query(capability="x")).items] == ["a1", "a3"]
    assert [i.id for i in store.find("agent", Query(state="error")).items] == ["a3"]
    page = store.find("agent", Query(offset=1, limit=1))
    assert (page.total, [i.id for i in page.items]) == (3, ["a2"])


def test_delete_removes_the_instance_and_its_history(store):
    first = agent()
    store.insert(first)
    after, record = moved(first, "active")
    store.commit(after, first.revision, record)
    store.delete("agent", "a1")
    with pytest.raises(AgentNotFound):
        store.get("agent", "a1")
    assert store.history("a1").total == 0
    with pytest.raises(AgentNotFound):
        store.delete("agent", "a1")


def test_feed_lists_every_instances_transitions_in_commit_order(store):
    a1, a2 = agent("a1"), agent("a2")
    store.insert(a1)
    store.insert(a2)
    after1, r1 = moved(a1, "active")
    after2, r2 = moved(a2, "error")
    store.commit(after1, 1, r1)
    store.commit(after2, 1, r2)
    feed = store.feed()
    assert [(r.instance_id, r.dest) for r in feed] == [("a1", "active"), ("a2", "error")]
    assert feed[0].gid < feed[1].gid
    assert store.feed(after_gid=feed[0].gid) == [feed[1]]


def test_work_is_admitted_with_the_insert_up_to_the_queue_capacity(store, clock):
    for n in range(3):
        store.insert(agent(f"a{n}"), work=[WorkItem("dispatch", f"a{n}", "s", 1, clock.now())])
    with pytest.raises(QueueFull):
        store.insert(agent("a9"), work=[WorkItem("dispatch", "a9", "s", 1, clock.now())])
    with pytest.raises(AgentNotFound):
        store.get("agent", "a9")
    claimed = store.queue.claim(0)
    assert claimed == WorkItem("dispatch", "a0", "s", 1, clock.now())
    store.queue.done(claimed)


def test_evolve_copies_every_attribute_and_changes_only_those_named():
    original = agent(context={"failures": 1}, name="n", agent_id=None)
    assert original.evolve() == original
    changed = original.evolve(state="active", revision=2)
    assert (changed.state, changed.revision) == ("active", 2)
    assert {k: v for k, v in changed.as_dict().items() if k not in ("state", "revision")} == {
        k: v for k, v in original.as_dict().items() if k not in ("state", "revision")
    }


def test_moved_is_evolve_of_one_transition():
    original = agent(context={"failures": 1}, name="n", agent_id="x", waiting_for=("b",))
    moved_one = original.moved("active", 4, 9.0, {"failures": 2})
    assert moved_one == original.evolve(
        state="active", revision=2, seq=4, updated_at=9.0, context={"failures": 2}
    )
