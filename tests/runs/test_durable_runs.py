"""With a SQL store, work outlives the worker that took it: a lost step is retried."""

from __future__ import annotations

import pytest

from opscore.store import WorkKind
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
