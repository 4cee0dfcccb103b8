"""Concurrent copies of one request with one Idempotency-Key: one fires, every copy gets its answer.

A client that retries after a timeout sends a copy while the first is still in flight;
the copy must be answered as the first was, never refused by the state the first moved.
Runs on every backend (memory, SQLite, PostgreSQL when configured).
"""

from __future__ import annotations

import threading

import pytest

from opscore.api import create_app
from opscore.clock import SystemClock
from opscore.core import OpsCore
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH

COPIES = 16
ROUNDS = 10


@pytest.fixture
def app(definitions, callbacks, backend):
    """The service over an empty store of each backend, with agent a1 registered."""
    store = make_store(backend, SystemClock(), history_cap=100)
    core = OpsCore(definitions, store, callbacks)
    app = create_app({"api_keys": API_KEY, "log_level": "CRITICAL"}, core=core)
    app.test_client().post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    yield app
    close_store(store)


def send_copies(app, path, body, key):
    """Send COPIES identical requests at once; their (status, body) answers."""
    barrier = threading.Barrier(COPIES)
    answers = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers={**AUTH, "Idempotency-Key": key})
        answers.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=send) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_copies_of_an_event_all_get_the_first_answer_and_it_fires_once(app):
    client = app.test_client()
    for round_ in range(ROUNDS):
        answers = send_copies(app, "/v1/agents/a1/events", {"event": "activate"}, f"round-{round_}")
        assert len(set(answers)) == 1, answers
        assert answers[0][0] == 200
        client.post("/v1/agents/a1/events", json={"event": "complete"}, headers=AUTH)
    history = client.get("/v1/agents/a1/history?page_size=500", headers=AUTH).json
    assert [record["event"] for record in history].count("activate") == ROUNDS


def test_concurrent_copies_of_a_registration_all_get_the_201_and_one_agent_exists(app):
    client = app.test_client()
    for round_ in range(ROUNDS):
        body = {"id": f"agent-{round_}"}
        answers = send_copies(app, "/v1/agents", body, f"register-{round_}")
        assert len(set(answers)) == 1, answers
        assert answers[0][0] == 201
    listed = client.get("/v1/agents?page_size=500", headers=AUTH).json
    assert sorted(agent["id"] for agent in listed) == sorted(
        ["a1", *(f"agent-{round_}" for round_ in range(ROUNDS))]
    )
