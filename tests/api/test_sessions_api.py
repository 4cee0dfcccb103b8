"""Sessions over HTTP: open, list, get, fire events, history, with the same error rules."""

from __future__ import annotations

import json

import pytest

from tests.support.constants import AUTH


@pytest.fixture
def session(client):
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    response = client.post(
        "/v1/agents/a1/sessions", json={"metadata": {"topic": "x"}}, headers=AUTH
    )
    assert response.status_code == 201
    return response.json


def fire(client, session_id, event, **kwargs):
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return client.post(
        f"/v1/sessions/{session_id}/events", json={"event": event, **kwargs}, headers=headers
    )


def test_open_session_answers_201_with_location(client, session):
    assert (session["agent_id"], session["state"], session["machine"]) == (
        "a1",
        "waiting",
        {"name": "session", "version": 1},
    )
    response = client.get(f"/v1/sessions/{session['id']}", headers=AUTH)
    assert (response.status_code, response.json) == (200, session)


def test_open_session_without_a_body_uses_the_defaults(client):
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    response = client.post("/v1/agents/a1/sessions", headers=AUTH)
    assert (response.status_code, response.json["machine"]["name"]) == (201, "session")


def test_open_session_for_unknown_agent_is_404(client):
    assert client.post("/v1/agents/nope/sessions", json={}, headers=AUTH).status_code == 404


def test_open_session_for_terminated_agent_is_409(client):
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    client.post("/v1/agents/a1/events", json={"event": "terminate"}, headers=AUTH)
    response = client.post("/v1/agents/a1/sessions", json={}, headers=AUTH)
    assert response.status_code == 409
    assert "terminated" in response.json["message"]


def test_open_session_with_an_agent_machine_is_422(client):
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    response = client.post("/v1/agents/a1/sessions", json={"machine": "agent"}, headers=AUTH)
    assert response.status_code == 422
    assert "machine" in response.json["errors"]["json"]


def test_list_agent_sessions_is_paginated(client, session):
    client.post("/v1/agents/a1/sessions", json={}, headers=AUTH)
    response = client.get("/v1/agents/a1/sessions?page_size=1", headers=AUTH)
    assert [s["id"] for s in response.json] == [session["id"]]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert client.get("/v1/agents/nope/sessions", headers=AUTH).status_code == 404


def test_fire_session_event_answers_with_session_and_transition(client, session):
    response = fire(client, session["id"], "start")
    assert response.status_code == 200
    assert (response.json["session"]["state"], response.json["transition"]["dest"]) == (
        "processing",
        "processing",
    )


def test_session_event_not_allowed_is_409_with_allowed_events(client, session):
    response = fire(client, session["id"], "complete")
    assert response.status_code == 409
    assert response.json["errors"]["allowed_events"] == ["start", "close"]


def test_session_stale_if_match_is_412(client, session):
    etag = client.get(f"/v1/sessions/{session['id']}", headers=AUTH).headers["ETag"]
    fire(client, session["id"], "start")
    assert fire(client, session["id"], "wait", headers={"If-Match": etag}).status_code == 412


def test_unknown_session_is_404(client):
    assert client.get("/v1/sessions/nope", headers=AUTH).status_code == 404
    assert fire(client, "nope", "start").status_code == 404
    assert client.get("/v1/sessions/nope/history", headers=AUTH).status_code == 404


def test_session_history_lists_transitions_and_the_close_on_terminate(client, session):
    fire(client, session["id"], "start")
    client.post("/v1/agents/a1/events", json={"event": "terminate"}, headers=AUTH)
    history = client.get(f"/v1/sessions/{session['id']}/history", headers=AUTH).json
    assert [(r["event"], r["dest"]) for r in history] == [
        ("start", "processing"),
        ("close", "closed"),
    ]
    assert (
        client.get(f"/v1/sessions/{session['id']}/history?since_seq=-1", headers=AUTH).status_code
        == 422
    )
