"""With a SQL store, work outlives the worker that took it: a lost step is retried."""

from __future__ import annotations

import pytest

from opscore.store import WorkKind
from opscore.store.sql.queue import SqlWorkQueue
from tests.support.backends import database_url
from tests.support.polling import poll_until
from tests.support.workflows import run_state


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
