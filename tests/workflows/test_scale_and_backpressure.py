"""Many runs at once lose nothing and run nothing twice; a full queue sheds new runs."""

from __future__ import annotations

import pytest

from ..conftest import AUTH
from .conftest import wait_for

RUNS = 1000


@pytest.mark.parametrize("backend", ["memory://"])
@pytest.mark.parametrize("capacity", [RUNS + 10])
def test_a_thousand_three_step_runs_all_succeed_with_each_step_run_once(
    workflow_core, calls, capacity
):
    runs = [workflow_core.runs.start("three_noops") for _ in range(RUNS)]

    def all_done():
        return sum(1 for run in runs if workflow_core.runs.get(run.id).state == "succeeded") == RUNS

    wait_for(all_done, timeout=120, what="every run to succeed")
    assert len(calls) == RUNS * 3
    assert set(calls.values()) == {1}
    for run in runs[:: RUNS // 10]:
        events = [(r.source, r.dest) for r in workflow_core.runs.history(run.id).items]
        assert events == [("one", "two"), ("two", "three"), ("three", "succeeded")]


@pytest.mark.parametrize("capacity", [2])
def test_starting_a_run_when_the_queue_is_full_is_429_with_retry_after(
    client, workflow_core, capacity
):
    workflow_core.stop()
    for _ in range(2):
        response = client.post("/v1/workflows/three_noops/runs", json={}, headers=AUTH)
        assert response.status_code == 202
    refused = client.post("/v1/workflows/three_noops/runs", json={}, headers=AUTH)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json["errors"] == {"capacity": 2, "retry_after": 1}
    assert len(client.get("/v1/runs", headers=AUTH).json) == 2
    assert workflow_core.store.queue.depth() == 2
