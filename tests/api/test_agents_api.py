"""`/v1/agents`: every endpoint's success and error paths."""

from __future__ import annotations

import json

import marshmallow as ma
import pytest

from tests.support.constants import AUTH


@pytest.fixture
def agent(client):
    response = client.post("/v1/agents", json={"id": "a1", "name": "writer"}, headers=AUTH)
    assert response.status_code == 201
    return response.json


def fire(client, agent_id, event, **kwargs):
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return client.post(
        f"/v1/agents/{agent_id}/events", json={"event": event, **kwargs}, headers=headers
    )


def test_register_answers_201_with_location_etag_and_representation(client):
    response = client.post(
        "/v1/agents",
        json={"name": "writer", "capabilities": ["summarize"], "metadata": {"team": "docs"}},
        headers=AUTH,
    )
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == f"/v1/agents/{body['id']}"
    assert response.headers["ETag"]
    assert set(body) == {
        "id",
        "name",
        "machine",
        "state",
        "allowed_events",
        "capabilities",
        "metadata",
        "context",
        "created_at",
        "updated_at",
        "revision",
        "last_seen",
    }
    assert (body["machine"], body["state"], body["allowed_events"], body["revision"]) == (
        {"name": "agent", "version": 1},
        "idle",
        ["activate", "fail", "terminate"],
        1,
    )
    assert body["created_at"].endswith("Z")


def test_register_with_taken_id_is_409(client, agent):
    response = client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    assert response.status_code == 409
    assert response.json["message"] == "agent 'a1' already exists"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "has space"}, "id"),
        ({"capabilities": "summarize"}, "capabilities"),
        ({"metadata": []}, "metadata"),
        ({"colour": "red"}, "colour"),
        ({"machine": "session"}, "machine"),
        ({"metadata": {"blob": "x" * 70_000}}, "metadata"),
    ],
)
def test_register_with_bad_field_is_422_naming_it_and_stores_nothing(client, body, field):
    response = client.post("/v1/agents", json=body, headers=AUTH)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert client.get("/v1/agents", headers=AUTH).json == []


def test_register_with_unknown_machine_is_404(client):
    response = client.post("/v1/agents", json={"machine": "robot"}, headers=AUTH)
    assert (response.status_code, response.json["message"]) == (404, "machine 'robot' not found")


def test_get_agent_answers_with_etag_and_304_when_unchanged(client, agent):
    response = client.get("/v1/agents/a1", headers=AUTH)
    assert (response.status_code, response.json) == (200, agent)
    etag = response.headers["ETag"]
    again = client.get("/v1/agents/a1", headers={**AUTH, "If-None-Match": etag})
    assert (again.status_code, again.data) == (304, b"")


def test_unknown_agent_is_404_in_standard_shape(client):
    response = client.get("/v1/agents/nope", headers=AUTH)
    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "status": "Not Found",
        "message": "agent 'nope' not found",
    }


def test_fire_event_answers_200_with_agent_and_transition(client, agent):
    response = fire(client, "a1", "activate", data={"task": "t1"})
    assert response.status_code == 200
    body = response.json
    assert (body["agent"]["state"], body["agent"]["revision"]) == ("active", 2)
    transition = body["transition"]
    assert (
        transition["seq"],
        transition["event"],
        transition["source"],
        transition["dest"],
        transition["data"],
    ) == (1, "activate", "idle", "active", {"task": "t1"})
    assert response.headers["ETag"] == client.get("/v1/agents/a1", headers=AUTH).headers["ETag"]


def test_event_not_allowed_is_409_listing_allowed_events(client, agent):
    response = fire(client, "a1", "complete")
    assert response.status_code == 409
    assert response.json["errors"] == {
        "event": "complete",
        "state": "idle",
        "allowed_events": ["activate", "fail", "terminate"],
    }
    assert client.get("/v1/agents/a1", headers=AUTH).json["revision"] == 1


def test_guard_refused_is_409_naming_the_guards(client, agent):
    fire(client, "a1", "fail")
    response = fire(client, "a1", "reset", data={})
    assert response.status_code == 409
    assert response.json["errors"]["guards"] == ["has_reason"]


def test_unknown_event_is_422_naming_the_event_field(client, agent):
    response = fire(client, "a1", "fly")
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"event": ["machine 'agent' has no event 'fly'"]}


def test_event_for_unknown_agent_is_404(client):
    assert fire(client, "nope", "activate").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"event": 3}, {"event": "activate", "data": "x"}, {"event": "activate", "extra": 1}],
)
def test_event_body_failing_its_schema_is_422(client, agent, body):
    response = client.post("/v1/agents/a1/events", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json["errors"]["json"]


def test_stale_if_match_is_412_and_changes_nothing(client, agent):
    etag = client.get("/v1/agents/a1", headers=AUTH).headers["ETag"]
    assert fire(client, "a1", "activate", headers={"If-Match": etag}).status_code == 200
    response = fire(client, "a1", "complete", headers={"If-Match": etag})
    assert response.status_code == 412
    assert client.get("/v1/agents/a1", headers=AUTH).json["state"] == "active"


def test_matching_if_match_lets_the_event_fire(client, agent):
    etag = client.get("/v1/agents/a1", headers=AUTH).headers["ETag"]
    assert fire(client, "a1", "activate", headers={"If-Match": etag}).status_code == 200


def test_list_filters_and_paginates_with_x_pagination(client):
    for i in range(5):
        client.post(
            "/v1/agents", json={"id": f"a{i}", "capabilities": ["x"] if i < 2 else []}, headers=AUTH
        )
    fire(client, "a3", "activate")
    page = client.get("/v1/agents?page=2&page_size=2", headers=AUTH)
    assert [a["id"] for a in page.json] == ["a2", "a3"]
    assert json.loads(page.headers["X-Pagination"]) == {
        "total": 5,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 2,
        "previous_page": 1,
        "next_page": 3,
    }
    assert [a["id"] for a in client.get("/v1/agents?state=active", headers=AUTH).json] == ["a3"]
    assert [a["id"] for a in client.get("/v1/agents?capability=x", headers=AUTH).json] == [
        "a0",
        "a1",
    ]
    assert client.get("/v1/agents?machine=session", headers=AUTH).json == []


@pytest.mark.parametrize(
    "query", ["page=0", "page_size=501", "state=no%20such", "capability=a%20b"]
)
def test_list_with_bad_query_is_422(client, query):
    assert client.get(f"/v1/agents?{query}", headers=AUTH).status_code == 422


def test_history_is_paginated_oldest_first_and_follows_since_seq(client, agent):
    for event in ("activate", "complete", "activate"):
        fire(client, "a1", event)
    history = client.get("/v1/agents/a1/history", headers=AUTH)
    assert [r["event"] for r in history.json] == ["activate", "complete", "activate"]
    assert json.loads(history.headers["X-Pagination"])["total"] == 3
    newer = client.get("/v1/agents/a1/history?since_seq=2", headers=AUTH)
    assert [r["seq"] for r in newer.json] == [3]


def test_history_of_unknown_agent_is_404(client):
    assert client.get("/v1/agents/nope/history", headers=AUTH).status_code == 404


def test_delete_answers_204_and_the_agent_is_gone(client, agent):
    response = client.delete("/v1/agents/a1", headers=AUTH)
    assert (response.status_code, response.data) == (204, b"")
    assert client.get("/v1/agents/a1", headers=AUTH).status_code == 404
    assert client.delete("/v1/agents/a1", headers=AUTH).status_code == 404


def test_request_body_schemas_are_built_once_not_on_every_request(client, agent, monkeypatch):
    # webargs builds a schema class anew per request: a tenth of an event's CPU time.
    built = []
    original = ma.Schema.__init__

    def counting(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ma.Schema, "__init__", counting)
    assert fire(client, "a1", "activate").status_code == 200
    assert fire(client, "a1", "complete").status_code == 200
    assert built == []
