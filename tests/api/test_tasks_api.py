"""`/v1/tasks` over HTTP: claim (200 or 204), heartbeat, complete and fail with the lease's
token; a stale token is a 409 that changes nothing; input steps take an answer."""

from __future__ import annotations

import pytest

from tests.support.constants import AUTH
from tests.support.polling import poll_until

ROUTED = """
kind: workflow
name: routed
version: 1
start: review
steps:
  review:
    {task: agent, capability: summarize, lease: 30s, params: {doc: $.input.doc}, next: succeeded}
"""
APPROVAL = """
kind: workflow
name: approval
version: 1
start: approve
steps:
  approve: {input: {schema: {type: object, required: [approved]}}, next: succeeded}
"""


@pytest.fixture
def app(workflow_app):
    """The workflow core (real workers, every store) behind the API."""
    return workflow_app


@pytest.fixture
def routed(client, add_template):
    add_template(ROUTED)
    add_template(APPROVAL)
    body = {"id": "sum-1", "capabilities": ["summarize"]}
    assert client.post("/v1/agents", json=body, headers=AUTH).status_code == 201
    response = client.post("/v1/workflows/routed/runs", json={"input": {"doc": "x"}}, headers=AUTH)
    run_id = response.json["id"]
    poll_until(lambda: client.get("/v1/tasks?capability=summarize", headers=AUTH).json)
    return run_id


def claim(client, agent="sum-1", wait=0):
    return client.post("/v1/tasks/claim", json={"agent_id": agent, "wait": wait}, headers=AUTH)


def test_a_claim_answers_the_task_with_its_lease(client, routed):
    response = claim(client)
    assert response.status_code == 200
    task = response.json
    assert (task["run_id"], task["step"], task["state"]) == (routed, "review", "working")
    assert (task["capability"], task["agent_id"], task["params"]) == (
        "summarize",
        "sum-1",
        {"doc": "x"},
    )
    assert task["lease_token"]
    assert task["lease_expires_at"]
    assert client.get(f"/v1/tasks/{task['id']}", headers=AUTH).json["state"] == "working"


def test_a_claim_with_nothing_to_take_is_204(client, routed):
    assert claim(client).status_code == 200
    assert claim(client).status_code == 204


def keyed_claim(client, key, agent="sum-1"):
    headers = {**AUTH, "Idempotency-Key": key}
    return client.post("/v1/tasks/claim", json={"agent_id": agent, "wait": 0}, headers=headers)


def test_a_claim_retried_with_its_idempotency_key_answers_the_task_it_took(client, routed):
    first = keyed_claim(client, "claim-1")
    again = keyed_claim(client, "claim-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json  # the same task, with the same lease token
    assert client.get(f"/v1/tasks/{first.json['id']}", headers=AUTH).json["state"] == "working"


def test_a_claim_that_found_nothing_keeps_nothing_for_its_key(client, routed):
    body = {"id": "sum-2", "capabilities": ["summarize"]}
    assert client.post("/v1/agents", json=body, headers=AUTH).status_code == 201
    assert claim(client).status_code == 200  # sum-1 takes the only task

    assert keyed_claim(client, "later", agent="sum-2").status_code == 204
    client.post("/v1/workflows/routed/runs", json={"input": {"doc": "y"}}, headers=AUTH)
    poll_until(
        lambda: client.get("/v1/tasks?capability=summarize&state=submitted", headers=AUTH).json
    )

    taken = keyed_claim(client, "later", agent="sum-2")
    assert taken.status_code == 200
    assert taken.json["params"] == {"doc": "y"}


def test_complete_with_the_token_settles_the_step_and_frees_the_agent(client, routed):
    task = claim(client).json
    path = f"/v1/tasks/{task['id']}/complete"
    body = {"lease_token": task["lease_token"], "output": {"summary": "s"}}
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 200
    assert response.json["run"]["status"] == "succeeded"
    assert client.get("/v1/agents/sum-1", headers=AUTH).json["state"] == "idle"


def test_a_wrong_token_is_409_and_changes_nothing(client, routed):
    task = claim(client).json
    before = client.get(f"/v1/runs/{routed}", headers=AUTH).json["revision"]
    for action, extra in (("heartbeat", {}), ("complete", {"output": 1}), ("fail", {"error": "X"})):
        body = {"lease_token": "forged", **extra}
        response = client.post(f"/v1/tasks/{task['id']}/{action}", json=body, headers=AUTH)
        assert response.status_code == 409, action
    assert client.get(f"/v1/runs/{routed}", headers=AUTH).json["revision"] == before


def test_an_unknown_task_is_404(client, routed):
    assert client.get(f"/v1/tasks/{routed}.0000000000000000", headers=AUTH).status_code == 404
    assert client.get("/v1/tasks/nosuchrun.0", headers=AUTH).status_code == 404


def test_an_input_steps_answer_must_satisfy_its_schema(client, routed):
    response = client.post("/v1/workflows/approval/runs", json={}, headers=AUTH)
    [task] = poll_until(lambda: client.get("/v1/tasks?state=input-required", headers=AUTH).json)
    assert task["run_id"] == response.json["id"]
    refused = client.post(f"/v1/tasks/{task['id']}/complete", json={"output": {}}, headers=AUTH)
    assert refused.status_code == 422
    done = client.post(
        f"/v1/tasks/{task['id']}/complete", json={"output": {"approved": True}}, headers=AUTH
    )
    assert done.json["run"]["output"] == {"approved": True}


def test_an_agent_heartbeat_records_last_seen_and_shows_on_the_agent(client, clock):
    assert client.post("/v1/agents", json={"id": "a1"}, headers=AUTH).status_code == 201
    assert client.get("/v1/agents/a1", headers=AUTH).json["last_seen"] is None
    clock.advance(5)
    response = client.post("/v1/agents/a1/heartbeat", headers=AUTH)
    assert response.status_code == 200
    assert response.json["agent_id"] == "a1"
    assert response.json["missed_at"] is None  # the shipped agent machine watches none
    assert client.get("/v1/agents/a1", headers=AUTH).json["last_seen"] == response.json["last_seen"]
    listed = client.get("/v1/agents", headers=AUTH).json
    assert [a["last_seen"] for a in listed] == [response.json["last_seen"]]


def test_a_heartbeat_of_an_unknown_agent_is_404(client):
    response = client.post("/v1/agents/nobody/heartbeat", headers=AUTH)
    assert response.status_code == 404


def test_a_claim_counts_as_the_agents_heartbeat(client, routed):
    assert client.get("/v1/agents/sum-1", headers=AUTH).json["last_seen"] is None
    claim(client)
    assert client.get("/v1/agents/sum-1", headers=AUTH).json["last_seen"] is not None


def test_explain_says_who_holds_a_runs_task_and_what_the_agent_holds(client, routed):
    task = claim(client).json
    run = client.get(f"/v1/runs/{routed}/explain", headers=AUTH)
    assert run.status_code == 200
    assert (run.json["a2a_state"], run.json["reasons"][0]["waits"]) == ("working", "lease")
    assert run.json["reasons"][0]["facts"]["lease_until"] == task["lease_expires_at"]
    agent = client.get("/v1/agents/sum-1/explain", headers=AUTH).json
    assert [(r["waits"], r["facts"]["task"]) for r in agent["reasons"]] == [("task", task["id"])]
    assert client.get(f"/v1/runs/{routed}", headers=AUTH).json["a2a_state"] == "working"


def test_explain_of_an_unknown_run_or_agent_is_404(client):
    assert client.get("/v1/runs/nosuch/explain", headers=AUTH).status_code == 404
    assert client.get("/v1/agents/nosuch/explain", headers=AUTH).status_code == 404
