"""Workflow runs end to end through the API, with a manual clock and real workers."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.support.constants import AUTH
from tests.support.polling import poll_until


@pytest.fixture
def app(workflow_app):
    """These tests drive the workflow core (manual clock, real workers), not the API's own."""
    return workflow_app


def start(client, workflow, payload):
    response = client.post(f"/v1/workflows/{workflow}/runs", json=payload, headers=AUTH)
    assert response.status_code == 202, response.json
    assert response.headers["Location"] == f"/v1/runs/{response.json['id']}"
    return response.json


def get_run(client, run_id):
    return client.get(f"/v1/runs/{run_id}", headers=AUTH).json


def run_in(client, run_id, *states):
    run = get_run(client, run_id)
    return run if run["state"] in states else None


def agent_in(client, agent_id, state):
    return client.get(f"/v1/agents/{agent_id}", headers=AUTH).json["state"] == state


def pending_is(client, run_id, step, status, attempt=None):
    run = get_run(client, run_id)
    pending = run["pending"]
    if not pending or (pending["step"], pending["status"]) != (step, status):
        return None
    return run if attempt is None or pending["attempt"] == attempt else None


def test_http_step_failing_twice_succeeds_on_its_third_attempt_after_policy_delays(
    client, clock, flaky_server, workflow_core
):
    server = flaky_server(failures=2)
    run = start(client, "fetch_report", {"input": {"url": server.url}})
    first = poll_until(lambda: pending_is(client, run["id"], "fetch", "retrying"), what="retry 1")
    assert first["pending"]["attempt"] == 2
    assert workflow_core.store.queue.next_due() == clock.now() + 1.0
    clock.advance(1.0)
    poll_until(lambda: pending_is(client, run["id"], "fetch", "retrying", attempt=3))
    assert server.hits == 2
    assert workflow_core.store.queue.next_due() == clock.now() + 2.0
    clock.advance(2.0)
    done = poll_until(lambda: run_in(client, run["id"], "succeeded"), what="success")
    fetch = next(s for s in done["steps"] if s["name"] == "fetch")
    assert [a["outcome"] for a in fetch["attempts"]] == ["failed", "failed", "succeeded"]
    assert [a.get("retry_in") for a in fetch["attempts"]] == [1.0, 2.0, None]
    assert fetch["attempts"][0]["error"]["name"] == "Http.ServerError"
    assert fetch["output"]["body"] == {"report": "ok", "hits": 3}
    assert server.hits == 3
    assert done["output"] == {"logged": f"report {server.url} fetched with status 200"}


def test_retries_exhausted_go_to_the_catcher_and_the_choice_fails_the_run(
    client, clock, flaky_server
):
    server = flaky_server(failures=100)
    run = start(client, "fetch_report", {"input": {"url": server.url}})
    for attempt, delay in ((2, 1.0), (3, 2.0), (4, 4.0)):
        poll_until(lambda a=attempt: pending_is(client, run["id"], "fetch", "retrying", a))
        clock.advance(delay)
    failed = poll_until(lambda: run_in(client, run["id"], "failed"), what="failure")
    assert server.hits == 4
    assert failed["error"]["name"] == "Http.ServerError"
    assert [s["name"] for s in failed["steps"]] == ["fetch", "record_outage", "give_up"]
    history = client.get(f"/v1/runs/{run['id']}/history", headers=AUTH).json
    assert [h["event"] for h in history] == ["catch_record_outage", "succeed", "choose_failed"]


def test_client_error_is_not_retried_and_the_choice_ends_the_run_successfully(client, flaky_server):
    server = flaky_server(failures=100, status=404)
    run = start(client, "fetch_report", {"input": {"url": server.url}})
    done = poll_until(lambda: run_in(client, run["id"], "succeeded", "failed"))
    assert (done["state"], server.hits) == ("succeeded", 1)
    assert done["error"] is None  # caught and moved on from: not the run's error
    [fetch] = [step for step in done["steps"] if step["name"] == "fetch"]
    assert fetch["error"]["name"] == "Http.ClientError"


@pytest.fixture
def reviewer(client):
    client.post("/v1/agents", json={"id": "reviewer"}, headers=AUTH)
    return "reviewer"


def start_review(client, reviewer, **input_data):
    payload = {"input": {"document": "draft", **input_data}, "agent_id": reviewer}
    run = start(client, "review_document", payload)
    poll_until(lambda: pending_is(client, run["id"], "review", "waiting"), what="agent step")
    return run


@pytest.mark.parametrize(
    ("verdict", "priority", "path", "output"),
    [
        ("approve", "low", ["review", "decide", "publish"], {"published": "draft", "notes": "ok"}),
        (
            "revise",
            "high",
            ["review", "decide", "escalate", "request_changes"],
            {"changes_requested": True, "notes": "ok"},
        ),
        (
            "revise",
            "low",
            ["review", "decide", "request_changes"],
            {"changes_requested": True, "notes": "ok"},
        ),
    ],
)
def test_choice_branches_on_the_agents_answer(client, reviewer, verdict, priority, path, output):
    run = start_review(client, reviewer, priority=priority)
    assert client.get("/v1/agents/reviewer", headers=AUTH).json["state"] == "active"
    [task] = client.get("/v1/agents/reviewer/tasks", headers=AUTH).json
    assert (task["run_id"], task["step"], task["request"]["document"]) == (
        run["id"],
        "review",
        "draft",
    )
    report = client.post(
        f"/v1/runs/{run['id']}/steps/review/complete",
        json={"output": {"verdict": verdict, "notes": "ok"}},
        headers=AUTH,
    )
    assert report.status_code == 200
    done = poll_until(lambda: run_in(client, run["id"], "succeeded"))
    assert [s["name"] for s in done["steps"]] == path
    assert done["output"] == output
    poll_until(lambda: agent_in(client, "reviewer", "idle"), what="the agent's on_success event")
    assert client.get("/v1/agents/reviewer/tasks", headers=AUTH).json == []


def test_reporting_twice_or_for_a_step_that_is_not_waiting_is_409(client, reviewer):
    run = start_review(client, reviewer)
    wrong = client.post(
        f"/v1/runs/{run['id']}/steps/decide/complete", json={"output": 1}, headers=AUTH
    )
    assert wrong.status_code == 409
    first = client.post(
        f"/v1/runs/{run['id']}/steps/review/complete",
        json={"output": {"verdict": "approve", "notes": "ok"}},
        headers=AUTH,
    )
    second = client.post(
        f"/v1/runs/{run['id']}/steps/review/complete",
        json={"output": {"verdict": "revise"}},
        headers=AUTH,
    )
    assert (first.status_code, second.status_code) == (200, 409)
    done = poll_until(lambda: run_in(client, run["id"], "succeeded"))
    assert [s["name"] for s in done["steps"]][-1] == "publish"


def test_step_timeout_is_retried_then_fails_the_run_and_the_agent(client, clock, reviewer):
    run = start_review(client, reviewer)
    clock.advance(20 * 60)
    retried = poll_until(lambda: pending_is(client, run["id"], "review", "retrying"))
    assert retried["steps"][0]["attempts"][0]["error"]["name"] == "States.Timeout"
    clock.advance(5)
    poll_until(lambda: pending_is(client, run["id"], "review", "waiting", attempt=2))
    clock.advance(20 * 60)
    failed = poll_until(lambda: run_in(client, run["id"], "failed"))
    assert failed["error"] == {
        "name": "States.Timeout",
        "message": "the step ran past its timeout",
        "step": "review",
    }
    poll_until(lambda: agent_in(client, "reviewer", "error"), what="the agent's on_failure event")


def test_run_timeout_fails_a_run_that_waits_too_long(client, clock):
    run = start(client, "slow", {})
    poll_until(lambda: pending_is(client, run["id"], "pause", "sleeping"))
    clock.advance(60)
    failed = poll_until(lambda: run_in(client, run["id"], "failed"))
    assert failed["error"]["name"] == "States.Timeout"
    clock.advance(5 * 60)
    assert get_run(client, run["id"])["state"] == "failed"


def test_wait_step_and_wait_task_finish_only_when_their_time_is_up(client, clock, workflow_core):
    run = start(client, "nap", {})
    poll_until(lambda: pending_is(client, run["id"], "pause", "sleeping"))
    assert workflow_core.store.queue.next_due() == clock.now() + 30
    clock.advance(29)
    assert pending_is(client, run["id"], "pause", "sleeping")
    clock.advance(1)
    poll_until(lambda: pending_is(client, run["id"], "after", "sleeping"))
    clock.advance(10)
    done = poll_until(lambda: run_in(client, run["id"], "succeeded"))
    assert [s["status"] for s in done["steps"]] == ["succeeded", "succeeded"]


def test_cancel_stops_a_waiting_run_and_a_second_cancel_is_409(client, reviewer):
    run = start_review(client, reviewer)
    cancelled = client.post(f"/v1/runs/{run['id']}/cancel", headers=AUTH)
    assert cancelled.status_code == 200
    assert cancelled.json["run"]["state"] == "cancelled"
    assert cancelled.json["run"]["steps"][0]["attempts"][-1]["outcome"] == "cancelled"
    assert client.post(f"/v1/runs/{run['id']}/cancel", headers=AUTH).status_code == 409
    assert client.get("/v1/agents/reviewer/tasks", headers=AUTH).json == []
    late = client.post(
        f"/v1/runs/{run['id']}/steps/review/complete", json={"output": 1}, headers=AUTH
    )
    assert late.status_code == 409


def test_redrive_after_failure_resumes_at_the_failed_step_without_rerunning_finished_ones(
    client, calls
):
    client.post("/v1/agents", json={"id": "helper"}, headers=AUTH)
    run = start(client, "prepare_then_ask", {"agent_id": "helper"})
    poll_until(lambda: pending_is(client, run["id"], "ask", "waiting"))
    client.post(
        f"/v1/runs/{run['id']}/steps/ask/fail",
        json={"error": "Agent.Unavailable", "message": "gone fishing"},
        headers=AUTH,
    )
    failed = poll_until(lambda: run_in(client, run["id"], "failed"))
    assert failed["error"] == {
        "name": "Agent.Unavailable",
        "message": "gone fishing",
        "step": "ask",
    }
    redriven = client.post(f"/v1/runs/{run['id']}/redrive", headers=AUTH)
    assert redriven.status_code == 200
    assert redriven.json["transition"]["event"] == "redrive_ask"
    poll_until(lambda: pending_is(client, run["id"], "ask", "waiting"))
    client.post(f"/v1/runs/{run['id']}/steps/ask/complete", json={"output": "42"}, headers=AUTH)
    done = poll_until(lambda: run_in(client, run["id"], "succeeded"))
    assert calls[(run["id"], "prepare")] == 1
    ask = next(s for s in done["steps"] if s["name"] == "ask")
    assert [a["outcome"] for a in ask["attempts"]] == ["failed", "succeeded"]
    assert done["output"] == {"answer": "42"}


def test_redrive_of_a_run_that_did_not_fail_is_409(client):
    run = start(client, "three_noops", {})
    poll_until(lambda: run_in(client, run["id"], "succeeded"))
    assert client.post(f"/v1/runs/{run['id']}/redrive", headers=AUTH).status_code == 409


def test_bound_agent_that_cannot_start_is_409_and_no_run_is_created(client, reviewer):
    client.post("/v1/agents/reviewer/events", json={"event": "activate"}, headers=AUTH)
    response = client.post(
        "/v1/workflows/review_document/runs",
        json={"input": {"document": "x"}, "agent_id": "reviewer"},
        headers=AUTH,
    )
    assert response.status_code == 409
    assert response.json["errors"]["event"] == "activate"
    assert client.get("/v1/runs", headers=AUTH).json == []


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"input": {}}, 422),
        ({"input": {"url": 3}}, 422),
        ({"input": {"url": "http://x", "extra": 1}}, 422),
        ({"input": {"url": "http://x"}, "agent_id": "nobody"}, 404),
    ],
)
def test_bad_start_requests_are_refused_and_create_nothing(client, payload, status):
    response = client.post("/v1/workflows/fetch_report/runs", json=payload, headers=AUTH)
    assert response.status_code == status
    assert client.get("/v1/runs", headers=AUTH).json == []


def test_unknown_workflow_is_404_naming_a_workflow_not_a_machine(client):
    unknown = client.post("/v1/workflows/nope/runs", json={}, headers=AUTH)
    assert (unknown.status_code, unknown.json["message"]) == (404, "workflow 'nope' not found")
    agent = client.post("/v1/workflows/agent/runs", json={}, headers=AUTH)
    assert (agent.status_code, agent.json["message"]) == (404, "workflow 'agent' not found")


def test_the_live_feed_shows_a_runs_step_attempts_and_transitions(
    client, clock, flaky_server, workflow_core
):
    server = flaky_server(failures=1)
    run = start(client, "fetch_report", {"input": {"url": server.url}})
    poll_until(lambda: pending_is(client, run["id"], "fetch", "retrying"))
    clock.advance(1.0)
    poll_until(lambda: run_in(client, run["id"], "succeeded"))
    feed = [r for r in workflow_core.store.feed(0, 100) if r.instance_id == run["id"]]
    assert [(r.kind, r.event, r.dest) for r in feed] == [
        ("step", "running", "fetch"),
        ("step", "retrying", "fetch"),
        ("step", "running", "fetch"),
        ("run", "succeed", "summarize"),
        ("step", "running", "summarize"),
        ("run", "succeed", "succeeded"),
    ]
    retrying = feed[1].data
    assert (retrying["attempt"], retrying["error"], retrying["retry_in"]) == (
        1,
        "Http.ServerError",
        1.0,
    )
    assert workflow_core.runs.history(run["id"]).total == 2


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_finished_runs_retries_step_durations_and_queue_waits(
    client, clock, flaky_server
):
    server = flaky_server(failures=1)
    finished = sample("opscore_runs_finished_total", workflow="fetch_report", outcome="succeeded")
    retried = sample(
        "opscore_step_retries_total",
        workflow="fetch_report",
        step="fetch",
        error="Http.ServerError",
    )
    timed = sample(
        "opscore_step_duration_seconds_count",
        workflow="fetch_report",
        step="fetch",
        outcome="failed",
    )
    waits = sample("opscore_queue_wait_seconds_count", kind="dispatch")
    run = start(client, "fetch_report", {"input": {"url": server.url}})
    poll_until(lambda: pending_is(client, run["id"], "fetch", "retrying"))
    clock.advance(1.0)
    poll_until(lambda: run_in(client, run["id"], "succeeded"))
    # The worker counts the run once its last transition is committed, so an API reader
    # can see the run succeeded a moment before the counter moves.
    poll_until(
        lambda: (
            sample("opscore_runs_finished_total", workflow="fetch_report", outcome="succeeded")
            >= finished + 1
        ),
        what="the finished run to be counted",
    )
    assert (
        sample("opscore_runs_finished_total", workflow="fetch_report", outcome="succeeded")
        == finished + 1
    )
    assert (
        sample(
            "opscore_step_retries_total",
            workflow="fetch_report",
            step="fetch",
            error="Http.ServerError",
        )
        == retried + 1
    )
    assert (
        sample(
            "opscore_step_duration_seconds_count",
            workflow="fetch_report",
            step="fetch",
            outcome="failed",
        )
        == timed + 1
    )
    assert sample("opscore_queue_wait_seconds_count", kind="dispatch") >= waits + 3
