"""With a SQL store, work outlives the worker that took it: a lost step is retried."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from opscore.errors import RevisionConflict
from opscore.store import WorkKind
from opscore.store.sql.queue import SqlWorkQueue
from opscore.store.sql.schema import work
from tests.support.backends import database_url
from tests.support.polling import poll_until
from tests.support.workflows import TWO_NOOPS, first_step_note, run_state


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    return database_url(request.param, tmp_path)


def test_a_step_whose_worker_died_is_retried_per_its_policy(workflow_core, clock, calls):
    workflow_core.stop()
    run = workflow_core.runs.start("resilient")
    queue = workflow_core.store.queue
    taken = queue.claim(0)
    assert (taken.kind, taken.step) == (WorkKind.DISPATCH, "work")
    workflow_core.attempts.begin(taken)  # the worker starts the step, then dies
    clock.advance(queue.lease + 1)
    workflow_core.start(2)
    poll_until(lambda: run_state(workflow_core, run.id).steps["work"].status == "retrying")
    clock.advance(1)
    done = poll_until(
        lambda: (
            workflow_core.runs.get(run.id).state == "succeeded" and workflow_core.runs.get(run.id)
        )
    )
    attempts = workflow_core.runs.state(done).steps["work"].attempts
    assert [a.outcome for a in attempts] == ["failed", "succeeded"]
    assert attempts[0].error.name == "States.WorkerLost"
    assert calls[(run.id, "work")] == 1


def claim_and_begin(core, workflow, clock):
    """Start a run of `workflow` and take its first step, as a worker in another process
    would (one that may then die); that process's queue, and what it took."""
    core.stop()
    run = core.runs.start(workflow)
    elsewhere = SqlWorkQueue(core.store.engine, 10, clock, core.store.queue.lease)
    taken = elsewhere.claim(0)
    assert (taken.kind, taken.step) == (WorkKind.DISPATCH, "work")
    core.attempts.begin(taken)
    return run, elsewhere, taken


def test_a_step_whose_worker_died_fails_as_worker_lost_at_its_timeout_shorter_than_the_lease(
    workflow_core, clock, calls
):
    run, _, _ = claim_and_begin(workflow_core, "lost_worker", clock)
    clock.advance(6)  # past the step's 5 s timeout, long before the 60 s lease runs out
    workflow_core.start(2)
    retrying = poll_until(
        lambda: (
            (record := run_state(workflow_core, run.id).steps["work"]).status == "retrying"
            and record
        )
    )
    assert retrying.attempts[0].error.name == "States.WorkerLost"
    clock.advance(1)
    poll_until(lambda: workflow_core.runs.get(run.id).state == "succeeded")
    assert calls[(run.id, "work")] == 1


def test_a_step_whose_worker_renews_its_claim_fails_as_timeout_past_its_timeout(
    workflow_core, clock
):
    run, elsewhere, taken = claim_and_begin(workflow_core, "lost_worker", clock)
    clock.advance(4)
    elsewhere.renew([taken])  # the worker is alive, the step just slow
    clock.advance(2)
    workflow_core.start(2)
    poll_until(lambda: workflow_core.runs.get(run.id).state == "failed")
    attempts = run_state(workflow_core, run.id).steps["work"].attempts
    assert [a.error.name for a in attempts] == ["States.Timeout"]


def _rows_of(engine, item_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(work.c.id == item_id)).scalar_one()


def _statements_during(engine, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("step", ["first", "second"])  # next step queued; the run ends
def test_a_steps_outcome_deletes_its_queue_row_in_its_own_commit(workflow_core, add_template, step):
    workflow_core.stop()
    add_template(TWO_NOOPS)
    run = workflow_core.runs.start("two_noops")
    queue, engine = workflow_core.store.queue, workflow_core.store.engine
    if step == "second":
        first = queue.claim(0)
        workflow_core.runner.process(first)
        queue.done(first)
    item = queue.claim(0)
    assert item.step == step
    workflow_core.runner.process(item)
    assert run_state(workflow_core, run.id).steps[step].status == "succeeded"
    assert _rows_of(engine, item.id) == 0  # gone before the worker says it is done
    assert _statements_during(engine, lambda: queue.done(item)) == []


def test_a_commit_that_loses_a_race_keeps_the_item_it_would_have_finished(
    workflow_core, add_template, clock
):
    workflow_core.stop()
    add_template(TWO_NOOPS)
    run = workflow_core.runs.start("two_noops")
    queue = workflow_core.store.queue
    item = queue.claim(0)
    workflow_core.attempts.begin(item)
    stored = workflow_core.runs.get(run.id)
    note = first_step_note(run.id, clock.now())
    with pytest.raises(RevisionConflict):  # a commit planned on a revision since replaced
        workflow_core.store.commit(
            stored.evolve(revision=stored.revision + 1),
            stored.revision - 1,
            notes=[note],  # one row: PostgreSQL's one-statement commit
            finished=item,
        )
    assert _rows_of(workflow_core.store.engine, item.id) == 1
    clock.advance(queue.lease + 1)
    again = queue.claim(0)
    assert (again.id, again.redelivered) == (item.id, True)
