"""Many runs at once lose nothing and run nothing twice; a full queue sheds new runs, stays
within its bound, and the service recovers when the load drops."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from tests.support.constants import AUTH
from tests.support.polling import poll_until

RUNS = 1000


@pytest.mark.parametrize("backend", ["memory://"])
@pytest.mark.parametrize("capacity", [RUNS + 10])
def test_a_thousand_three_step_runs_all_succeed_with_each_step_run_once(
    workflow_core, calls, capacity
):
    runs = [workflow_core.runs.start("three_noops") for _ in range(RUNS)]

    def all_done():
        return sum(1 for run in runs if workflow_core.runs.get(run.id).state == "succeeded") == RUNS

    poll_until(all_done, timeout=120, what="every run to succeed")
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


FLOOD = 400
FLOODERS = 4


@pytest.fixture
def gate(tasks, add_workflow):
    """A workflow `gated` whose only step waits until the test opens the gate."""
    gate = threading.Event()
    tasks.task("gated")(lambda ctx: {"opened": gate.wait(60)})
    add_workflow("gated", "gated")
    yield gate
    gate.set()


def flood(app, count: int = FLOOD) -> list[tuple[int, str | None, str | None]]:
    """POST `count` run starts from FLOODERS threads at once: (status, Retry-After, run id)."""
    answers: list[tuple[int, str | None, str | None]] = []
    lock = threading.Lock()

    def send(share: int) -> None:
        client = app.test_client()
        for _ in range(share):
            response = client.post("/v1/workflows/gated/runs", json={}, headers=AUTH)
            run_id = response.json.get("id") if response.status_code == 202 else None
            with lock:
                answers.append((response.status_code, response.headers.get("Retry-After"), run_id))

    threads = [threading.Thread(target=send, args=(count // FLOODERS,)) for _ in range(FLOODERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def accepted(answers) -> list[str]:
    return [run_id for status, _, run_id in answers if status == 202]


def all_succeed(core, run_ids) -> bool:
    return all(core.runs.get(run_id).state == "succeeded" for run_id in run_ids)


@pytest.mark.parametrize("backend", ["memory://"])
@pytest.mark.parametrize("capacity", [8])
def test_a_flood_of_run_starts_is_shed_with_429_and_retry_after_within_the_queue_bound(
    app, workflow_core, gate, capacity
):
    answers = flood(app)
    assert {status for status, _, _ in answers} == {202, 429}
    assert all(retry == "1" for status, retry, _ in answers if status == 429)
    assert len(accepted(answers)) == capacity  # four running, four ready, the rest shed
    assert workflow_core.store.queue.peak() == capacity


@pytest.mark.parametrize("backend", ["memory://"])
@pytest.mark.parametrize("capacity", [8])
def test_every_run_accepted_during_a_flood_completes_once_the_load_drops(
    app, workflow_core, gate, capacity
):
    runs = accepted(flood(app))
    gate.set()
    poll_until(lambda: all_succeed(workflow_core, runs), what="every accepted run")
    assert (
        app.test_client().post("/v1/workflows/three_noops/runs", json={}, headers=AUTH).status_code
        == 202
    )


@pytest.mark.parametrize("backend", ["memory://"])
@pytest.mark.parametrize("capacity", [8])
def test_memory_stays_flat_across_floods_beyond_what_the_accepted_runs_keep(
    app, workflow_core, gate, capacity
):
    def flood_then_drain() -> int:
        runs = accepted(flood(app))  # the gate is shut: eight accepted, the rest refused
        gate.set()
        poll_until(lambda: all_succeed(workflow_core, runs), what="the flood's runs")
        gate.clear()
        gc.collect()
        return len(runs)

    tracemalloc.start()
    try:
        flood_then_drain()  # warms every code path up
        before = tracemalloc.get_traced_memory()[0]
        kept = flood_then_drain()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # What stays is the accepted runs (about 5 KiB each, with their history) and nothing
    # per refused request: 392 refusals leaking even 1 KiB each would break this bound.
    assert kept == capacity
    assert grown < kept * 16 * 1024 + 128 * 1024, grown
