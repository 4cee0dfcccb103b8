"""Tasks through `OpsCoreClient`: claim, heartbeat and report, and `work`, the loop an agent
runs: it claims, heartbeats in the background while the handler works, and reports."""

from __future__ import annotations

import threading

import pytest

from opscore.client import Conflict
from tests.support.polling import poll_until
from tests.support.routed import add_routed


@pytest.fixture
def routed(service_core, callbacks, api):
    add_routed(service_core, callbacks)
    for name in ("s1", "s2"):
        api.agents.register(name, capabilities=["summarize"])
    return api


def test_claim_heartbeat_and_complete_a_task(routed):
    run = routed.runs.start("routed", input={"doc": "d"})
    task = poll_until(lambda: routed.tasks.claim("s1"), what="a task to claim")
    assert (task["run_id"], task["params"], task["lease_seconds"]) == (run["id"], {"doc": "d"}, 30)
    assert routed.tasks.heartbeat(task["id"], task["lease_token"])["state"] == "working"
    with pytest.raises(Conflict):
        routed.tasks.complete(task["id"], {"x": 1}, lease_token="wrong")
    routed.tasks.complete(task["id"], {"summary": "ok"}, lease_token=task["lease_token"])
    assert routed.runs.wait(run["id"], timeout=15, interval=0.01)["output"] == {"summary": "ok"}


def test_a_claim_with_nothing_to_take_answers_none(routed):
    assert routed.tasks.claim("s1") is None


def test_work_claims_reports_and_stops_when_told(routed):
    runs = [routed.runs.start("routed", input={"doc": f"d{n}"})["id"] for n in range(6)]
    stop = threading.Event()
    done = []

    def agent(name: str) -> None:
        done.append(
            routed.tasks.work(name, lambda t: {"by": name, **t["params"]}, stop=stop, wait=0.1)
        )

    threads = [threading.Thread(target=agent, args=(n,)) for n in ("s1", "s2")]
    for thread in threads:
        thread.start()
    finished = [routed.runs.wait(r, timeout=15, interval=0.01) for r in runs]
    stop.set()
    for thread in threads:
        thread.join()
    assert sum(done) == 6
    assert [f["output"]["doc"] for f in finished] == [f"d{n}" for n in range(6)]
    assert {f["output"]["by"] for f in finished} <= {"s1", "s2"}


def test_work_heartbeats_while_the_handler_runs_and_reports_its_failure(routed):
    run = routed.runs.start("routed", input={"doc": "d"})

    def slow_then_broken(task):
        poll_until(lambda: routed.tasks.get(task["id"])["heartbeat_at"] != task["heartbeat_at"])
        raise RuntimeError("the model is down")

    routed.tasks.work("s1", slow_then_broken, heartbeat_every=0.01, max_tasks=1, wait=5)
    ended = routed.runs.wait(run["id"], timeout=15, interval=0.01)
    assert ended["error"]["name"] == "Agent.HandlerFailed"
    assert ended["error"]["message"] == "RuntimeError: the model is down"
