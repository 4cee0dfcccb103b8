"""Idempotency-Key: a replay answers the first response and never fires a second transition."""

from __future__ import annotations

import threading

import pytest

from tests.support.constants import AUTH


def post(client, path, body, key, api_key=None):
    headers = {**AUTH, "Idempotency-Key": key}
    if api_key:
        headers["X-API-Key"] = api_key
    return client.post(path, json=body, headers=headers)


@pytest.fixture
def agent_id(client):
    return client.post("/v1/agents", json={"id": "a1"}, headers=AUTH).json["id"]


def test_replayed_event_returns_the_first_answer_without_a_second_transition(client, agent_id):
    first = post(client, "/v1/agents/a1/events", {"event": "activate"}, "k-1")
    again = post(client, "/v1/agents/a1/events", {"event": "activate"}, "k-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(client.get("/v1/agents/a1/history", headers=AUTH).json) == 1


def test_replay_keeps_the_first_answer_even_after_later_changes(client, agent_id):
    first = post(client, "/v1/agents/a1/events", {"event": "activate"}, "k-1")
    client.post("/v1/agents/a1/events", json={"event": "complete"}, headers=AUTH)
    again = post(client, "/v1/agents/a1/events", {"event": "activate"}, "k-1")
    assert again.json["agent"]["state"] == first.json["agent"]["state"] == "active"


def test_same_key_with_a_different_body_is_422_and_changes_nothing(client, agent_id):
    post(client, "/v1/agents/a1/events", {"event": "activate"}, "k-1")
    response = post(client, "/v1/agents/a1/events", {"event": "pause"}, "k-1")
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["errors"]["headers"]
    assert client.get("/v1/agents/a1", headers=AUTH).json["state"] == "active"


def test_replayed_registration_returns_201_and_creates_one_agent(client):
    first = post(client, "/v1/agents", {"name": "w"}, "reg-1")
    again = post(client, "/v1/agents", {"name": "w"}, "reg-1")
    assert (again.status_code, again.json, again.headers["Location"]) == (
        201,
        first.json,
        first.headers["Location"],
    )
    assert len(client.get("/v1/agents", headers=AUTH).json) == 1


def test_replayed_session_open_creates_one_session(client, agent_id):
    first = post(client, "/v1/agents/a1/sessions", {}, "s-1")
    again = post(client, "/v1/agents/a1/sessions", {}, "s-1")
    assert again.json["id"] == first.json["id"]
    assert len(client.get("/v1/agents/a1/sessions", headers=AUTH).json) == 1


def test_a_failed_request_is_not_kept_and_can_be_retried(client, agent_id):
    refused = post(client, "/v1/agents/a1/events", {"event": "complete"}, "k-2")
    assert refused.status_code == 409
    client.post("/v1/agents/a1/events", json={"event": "activate"}, headers=AUTH)
    retried = post(client, "/v1/agents/a1/events", {"event": "complete"}, "k-2")
    assert retried.status_code == 200


def test_keys_are_scoped_to_the_path(client, agent_id):
    client.post("/v1/agents", json={"id": "a2"}, headers=AUTH)
    post(client, "/v1/agents/a1/events", {"event": "activate"}, "shared")
    other = post(client, "/v1/agents/a2/events", {"event": "activate"}, "shared")
    assert other.json["agent"]["id"] == "a2"


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "é"])
def test_malformed_key_is_422(client, agent_id, key):
    response = client.post(
        "/v1/agents/a1/events", json={"event": "activate"}, headers={**AUTH, "Idempotency-Key": key}
    )
    assert response.status_code == 422


def test_concurrent_requests_with_one_key_fire_once(app, agent_id):
    barrier = threading.Barrier(8)
    answers = []

    def send():
        client = app.test_client()
        barrier.wait()
        answers.append(post(client, "/v1/agents/a1/events", {"event": "activate"}, "race"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {200}
    assert len({a.get_data() for a in answers}) == 1
    history = app.test_client().get("/v1/agents/a1/history", headers=AUTH).json
    assert len(history) == 1


def test_expired_keys_are_forgotten(core, client, agent_id):
    post(client, "/v1/agents/a1/events", {"event": "activate"}, "old")
    client.post("/v1/agents/a1/events", json={"event": "complete"}, headers=AUTH)
    core.store.idempotency_ttl = 0.0
    again = post(client, "/v1/agents/a1/events", {"event": "activate"}, "old")
    assert "Idempotent-Replayed" not in again.headers
    assert len(client.get("/v1/agents/a1/history", headers=AUTH).json) == 3
