"""Push over HTTP: `POST /v1/agents` with an `endpoint` answers the agent's push secret once
(never again, not in GET); an endpoint the policy forbids is a 422 that registers nothing;
`GET /v1/deliveries?status=undeliverable` lists the tasks that could not be pushed."""

from __future__ import annotations

import io

import pytest

from opscore.api import create_app
from opscore.core import OpsCore
from opscore.logs import configure_logging
from opscore.push import OutboundPolicy
from opscore.store import MemoryStore
from opscore.store.push import Delivery, DeliveryStatus
from tests.support.constants import API_KEY, AUTH

ENDPOINT = "https://agents.example.com/opscore/tasks"


@pytest.fixture
def core(definitions, callbacks):
    policy = OutboundPolicy(frozenset({"agents.example.com"}))
    return OpsCore(definitions, MemoryStore(history_cap=50), callbacks, push=policy)


@pytest.fixture
def app(core):
    return create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)


def register(client, headers=None, **body):
    return client.post("/v1/agents", json=body, headers={**AUTH, **(headers or {})})


def test_registering_with_an_endpoint_answers_its_push_secret_once(client, core):
    response = register(client, id="p1", endpoint=ENDPOINT)

    assert response.status_code == 201
    secret = response.json["push_secret"]
    assert response.json["endpoint"] == ENDPOINT
    assert len(secret) >= 32
    assert core.store.push.target("p1").secret == secret
    shown = client.get("/v1/agents/p1", headers=AUTH)
    listed = client.get("/v1/agents", headers=AUTH)
    assert secret not in shown.get_data(as_text=True)
    assert secret not in listed.get_data(as_text=True)


def test_getting_a_pushing_agent_shows_its_endpoint_and_a_pulling_one_none(client):
    register(client, id="pushed", endpoint=ENDPOINT)
    register(client, id="pulls")

    assert client.get("/v1/agents/pushed", headers=AUTH).json["endpoint"] == ENDPOINT
    assert "endpoint" not in client.get("/v1/agents/pulls", headers=AUTH).json


def test_a_deleted_agent_registered_again_without_an_endpoint_shows_none(client):
    register(client, id="again", endpoint=ENDPOINT)
    assert client.delete("/v1/agents/again", headers=AUTH).status_code == 204
    register(client, id="again")

    assert "endpoint" not in client.get("/v1/agents/again", headers=AUTH).json


def test_each_agent_gets_its_own_secret(client):
    first = register(client, id="p1", endpoint=ENDPOINT).json["push_secret"]
    second = register(client, id="p2", endpoint=ENDPOINT).json["push_secret"]

    assert first != second


def test_registering_without_an_endpoint_shows_no_secret_and_pushes_nothing(client, core):
    response = register(client, id="plain")

    assert response.status_code == 201
    assert "push_secret" not in response.json
    assert core.push.pushes_to("plain") is False


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("https://elsewhere.example.org/tasks", "OPSCORE_PUSH_ALLOWED_HOSTS"),
        ("http://agents.example.com/tasks", "https"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://127.0.0.1/tasks", "loopback"),
        ("not a url", "https"),
    ],
)
def test_an_endpoint_the_policy_forbids_is_422_and_registers_nothing(client, core, endpoint, why):
    response = register(client, id="p1", endpoint=endpoint)

    assert response.status_code == 422
    assert why in response.json["errors"]["json"]["endpoint"][0]
    assert core.agents.list().items == []
    assert core.store.push.target("p1") is None


def test_a_registration_replayed_with_its_idempotency_key_keeps_the_first_secret(client, core):
    key = {"Idempotency-Key": "register-p1"}
    first = register(client, headers=key, id="p1", endpoint=ENDPOINT)
    again = register(client, headers=key, id="p1", endpoint=ENDPOINT)

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["push_secret"] == first.json["push_secret"]
    assert core.store.push.target("p1").secret == first.json["push_secret"]


def test_deleting_an_agent_stops_its_pushes(client, core):
    register(client, id="p1", endpoint=ENDPOINT)

    assert client.delete("/v1/agents/p1", headers=AUTH).status_code == 204
    assert core.push.pushes_to("p1") is False


def test_undeliverable_tasks_are_listed_by_status(client, core):
    book = core.store.push
    for task, status in (("r.1", DeliveryStatus.UNDELIVERABLE), ("r.2", DeliveryStatus.DELIVERED)):
        book.save_delivery(Delivery(task, "r", "ask", "p1", ENDPOINT, status, 5, "HTTP 500", 1.0))

    response = client.get("/v1/deliveries?status=undeliverable", headers=AUTH)

    assert response.status_code == 200
    assert response.json == [
        {
            "task_id": "r.1",
            "run_id": "r",
            "step": "ask",
            "agent_id": "p1",
            "endpoint": ENDPOINT,
            "status": "undeliverable",
            "attempts": 5,
            "last_error": "HTTP 500",
            "updated_at": "1970-01-01T00:00:01Z",
        }
    ]
    assert len(client.get("/v1/deliveries", headers=AUTH).json) == 2
    assert client.get("/v1/deliveries?status=lost", headers=AUTH).status_code == 422


def test_the_push_secret_never_appears_in_the_logs(core):
    app = create_app({"api_keys": API_KEY, "log_level": "DEBUG"}, core=core)
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer)
    client = app.test_client()
    try:
        secret = register(client, id="p1", endpoint=ENDPOINT).json["push_secret"]
        client.get("/v1/agents/p1", headers=AUTH)
    finally:
        configure_logging("WARNING", "text", stream=io.StringIO())
    logged = buffer.getvalue()
    assert "/v1/agents/p1" in logged
    assert secret not in logged
