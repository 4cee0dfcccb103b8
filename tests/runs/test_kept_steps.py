"""On a SQL store, the next step a worker thread's commit queues is inserted already claimed
by it, and the thread carries it out next, with no claim (`SqlWorkQueue.keeping`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opscore.errors import RevisionConflict
from opscore.store import WorkItem, WorkKind
from opscore.store.sql.queue import SqlWorkQueue
from opscore.store.sql.schema import work
from tests.support.backends import database_url
from tests.support.polling import poll_until
from tests.support.workflows import TWO_NOOPS, first_step_note


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    return database_url(request.param, tmp_path)


@pytest.fixture
def stopped(workflow_core, add_template):
    """The core with its workers stopped and the two-noop template added."""
    workflow_core.stop()
    add_template(TWO_NOOPS)
    return workflow_core


def _elsewhere(core, clock) -> SqlWorkQueue:
    """The queue as a worker in another process sees it."""
    return SqlWorkQueue(core.store.engine, 10, clock, core.store.queue.lease)


def _lease_of(core, item_id: int) -> tuple[str | None, int]:
    with core.store.engine.connect() as conn:
        lease = select(work.c.lease_owner, work.c.deliveries).where(work.c.id == item_id)
        return tuple(conn.execute(lease).one())


def _commit_queueing(core, run_id: str, items: list[WorkItem], expected: int | None = None):
    """A change of the run (a note of its first step) that queues `items`."""
    stored = core.runs.get(run_id)
    note = first_step_note(run_id, core.clock.now(), event="noted")
    revision = stored.revision if expected is None else expected
    changed = stored.evolve(revision=stored.revision + 1)
    core.store.commit(changed, revision, notes=[note], work=items)


def test_a_step_outcome_committed_while_keeping_queues_the_next_step_claimed_by_its_worker(
    stopped, clock
):
    run = stopped.runs.start("two_noops")
    queue = stopped.store.queue
    first = queue.claim(0)
    with queue.keeping() as kept:
        stopped.runner.process(first)
    assert [(item.step, item.redelivered) for item in kept] == [("second", False)]
    assert _lease_of(stopped, kept[0].id) == (queue.owner, 1)  # as a first claim leaves it
    assert _elsewhere(stopped, clock).claim(0) is None
    queue.done(first)
    stopped.runner.process(kept[0])
    assert stopped.runs.get(run.id).state == "succeeded"


def test_outside_a_keeping_block_the_next_step_waits_for_any_workers_claim(stopped, clock):
    stopped.runs.start("two_noops")
    first = stopped.store.queue.claim(0)
    stopped.runner.process(first)
    assert _elsewhere(stopped, clock).claim(0).step == "second"


def test_a_block_keeps_one_item_due_now_however_many_its_commits_queue(stopped, clock):
    run = stopped.runs.start("two_noops")
    queue, elsewhere = stopped.store.queue, _elsewhere(stopped, clock)
    assert elsewhere.claim(0).step == "first"  # out of the way
    later = WorkItem(WorkKind.RESUME, run.id, "a", 1, clock.now() + 5)
    with queue.keeping() as kept:
        _commit_queueing(stopped, run.id, [later])  # not due yet: left to the timer
        _commit_queueing(stopped, run.id, [WorkItem(WorkKind.RESUME, run.id, s, 1) for s in "bc"])
        _commit_queueing(stopped, run.id, [WorkItem(WorkKind.RESUME, run.id, "d", 1)])
    assert [item.step for item in kept] == ["b"]
    assert sorted(item.step for item in elsewhere.claim_many(10, 0)) == ["c", "d"]
    clock.advance(5)
    assert elsewhere.claim(0).step == "a"


def test_a_commit_that_conflicts_keeps_nothing_and_queues_nothing(stopped, clock):
    run = stopped.runs.start("two_noops")
    queue, elsewhere = stopped.store.queue, _elsewhere(stopped, clock)
    assert elsewhere.claim(0).step == "first"
    stale = stopped.runs.get(run.id).revision - 1
    with queue.keeping() as kept, pytest.raises(RevisionConflict):
        _commit_queueing(stopped, run.id, [WorkItem(WorkKind.RESUME, run.id, "b", 1)], stale)
    assert kept == []
    assert elsewhere.claim_many(10, 0) == []


def test_a_worker_carries_out_the_next_step_it_queued_without_claiming_it(stopped, monkeypatch):
    queue = stopped.store.queue
    claimed: list[str] = []
    claim_many = queue.claim_many

    def counted(limit, timeout=0.5, stop=None):
        items = claim_many(limit, timeout, stop)
        claimed.extend(item.step for item in items)
        return items

    monkeypatch.setattr(queue, "claim_many", counted)
    run = stopped.runs.start("two_noops")
    stopped.start(1)
    poll_until(lambda: stopped.runs.get(run.id).state == "succeeded", what="the run to end")
    assert claimed == ["first"]
