"""`POST /v1/agents/{id}/upgrade`: an agent moves to a newer version of its machine,
renamed states mapped, the move in its history; a bad map is refused with the reason and
changes nothing. On every backend."""

from __future__ import annotations

import pytest

from opscore.api import create_app
from opscore.clock import SystemClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH, MACHINES
from tests.support.upgrades import AGENT_V2

YAML = {**AUTH, "Content-Type": "application/yaml"}


@pytest.fixture
def client(callbacks, backend):
    """An active agent `a1` on agent v1, and agent v2 stored beside it."""
    store = make_store(backend, SystemClock())
    core = OpsCore(DefinitionRegistry(), store, callbacks, paths=[MACHINES])
    core.definition_service.load()
    client = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core).test_client()
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    client.post("/v1/agents/a1/events", json={"event": "activate"}, headers=AUTH)
    assert client.put("/v1/machines/agent", data=AGENT_V2, headers=YAML).status_code == 201
    yield client
    close_store(store)


def upgrade(client, body):
    return client.post("/v1/agents/a1/upgrade", json=body, headers=AUTH)


def test_an_upgrade_moves_the_agent_to_the_new_version_and_its_mapped_state(client):
    response = upgrade(client, {"version": 2, "states": {"active": "working"}})
    assert response.status_code == 200, response.json
    agent = response.json["agent"]
    assert (agent["machine"], agent["state"]) == ({"name": "agent", "version": 2}, "working")
    assert "complete" in agent["allowed_events"]


def test_an_upgrade_is_recorded_in_the_agents_history(client):
    upgrade(client, {"version": 2, "states": {"active": "working"}})
    last = client.get("/v1/agents/a1/history", headers=AUTH).json[-1]
    assert (last["event"], last["source"], last["dest"], last["data"]) == (
        "(upgrade)",
        "active",
        "working",
        {"from_version": 1, "to_version": 2},
    )


def test_the_upgraded_agent_fires_the_new_versions_events(client):
    upgrade(client, {"version": 2, "states": {"active": "working"}})
    fired = client.post("/v1/agents/a1/events", json={"event": "complete"}, headers=AUTH)
    assert (fired.status_code, fired.json["transition"]["source"]) == (200, "working")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"version": 2, "states": {"active": "busy"}},
            "state 'busy' (for 'active') does not exist in 'agent' version 2",
        ),
        (
            {"version": 2},
            "state 'active' does not exist in 'agent' version 2; map it with states: {active: ...}",
        ),
        (
            {"version": 1},
            "agent 'a1' is on 'agent' version 1; an upgrade moves to a newer one",
        ),
    ],
)
def test_a_refused_upgrade_is_422_with_the_reason_and_changes_nothing(client, body, message):
    response = upgrade(client, body)
    assert (response.status_code, response.json["message"]) == (422, message)
    agent = client.get("/v1/agents/a1", headers=AUTH).json
    assert (agent["machine"]["version"], agent["state"]) == (1, "active")
    assert len(client.get("/v1/agents/a1/history", headers=AUTH).json) == 1


def test_an_upgrade_to_a_retired_version_is_refused(client):
    client.post("/v1/machines/agent/versions/2/retire", headers=AUTH)
    response = upgrade(client, {"version": 2, "states": {"active": "working"}})
    assert (response.status_code, response.json["message"]) == (
        422,
        "'agent' version 2 is retired",
    )


def test_an_upgrade_to_an_unknown_version_is_404(client):
    assert upgrade(client, {"version": 7}).status_code == 404


def test_a_replayed_upgrade_answers_the_first_answer_without_a_second_transition(client):
    headers = {**AUTH, "Idempotency-Key": "upgrade-1"}
    body = {"version": 2, "states": {"active": "working"}}
    first = client.post("/v1/agents/a1/upgrade", json=body, headers=headers)
    again = client.post("/v1/agents/a1/upgrade", json=body, headers=headers)
    assert (again.status_code, again.json) == (200, first.json)
    assert len(client.get("/v1/agents/a1/history", headers=AUTH).json) == 2
