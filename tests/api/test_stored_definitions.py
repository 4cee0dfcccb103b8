"""`PUT /v1/machines/{name}`, versions with their instances, and retiring a version, on
every backend."""

from __future__ import annotations

import pytest

from opscore.api import create_app
from opscore.apikeys import digest
from opscore.clock import SystemClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from tests.support.backends import close_store, make_store
from tests.support.constants import MACHINES

ADMIN = {"X-API-Key": "admin-key"}
WRITER = {"X-API-Key": "writer-key"}
YAML = {"Content-Type": "application/yaml"}
AGENT = (MACHINES / "agent.yaml").read_text()
AGENT_V2 = AGENT.replace("version: 1", "version: 2").replace("Working on a task.", "Busy.")


@pytest.fixture
def core(callbacks, backend):
    """A core over the shipped machines (loaded into the store) on each backend."""
    store = make_store(backend, SystemClock())
    core = OpsCore(DefinitionRegistry(), store, callbacks, paths=[MACHINES])
    core.definition_service.load()
    yield core
    close_store(store)


@pytest.fixture
def client(core):
    keys = f"admin:sha256:{digest('admin-key')},write:sha256:{digest('writer-key')}"
    return create_app({"api_keys": keys, "log_level": "WARNING"}, core=core).test_client()


def put(client, text, name="agent", headers=ADMIN):
    return client.put(f"/v1/machines/{name}", data=text, headers={**headers, **YAML})


def test_put_stores_a_new_version_that_new_agents_get(client):
    response = put(client, AGENT_V2)
    assert (response.status_code, response.json["version"], response.json["versions"]) == (
        201,
        2,
        [1, 2],
    )
    registered = client.post("/v1/agents", json={"id": "a1"}, headers=ADMIN)
    assert registered.json["machine"] == {"name": "agent", "version": 2}


def test_put_of_the_same_content_again_is_200_and_changes_nothing(client, core):
    put(client, AGENT_V2)
    again = put(client, AGENT_V2)
    assert (again.status_code, again.json["versions"]) == (200, [1, 2])
    assert len(core.store.definitions.stored()) == 6


def test_put_of_a_known_version_with_other_content_is_422(client):
    response = put(client, AGENT.replace("Working on a task.", "Busy."))
    assert response.status_code == 422
    assert response.json["errors"]["body"] == [
        f"agent:4: version: 'agent' version 1 is already loaded from {MACHINES / 'agent.yaml'} "
        "with different content; raise `version`"
    ]


def test_put_of_a_version_below_the_latest_is_422(client):
    put(client, AGENT.replace("version: 1", "version: 3"))
    response = put(client, AGENT_V2)
    assert response.status_code == 422
    assert response.json["errors"]["body"] == [
        "agent:4: version: must grow: 'agent' is already at version 3"
    ]


def test_put_of_an_invalid_definition_is_422_listing_every_problem(client, core):
    text = AGENT_V2.replace("dest: active", "dest: actve", 1).replace("name: agent", "name: 'a b'")
    response = put(client, text)
    assert response.status_code == 422
    assert [line.split(": ", 2)[1] for line in response.json["errors"]["body"]] == [
        "name",
        "transitions[0].dest",
    ]
    assert core.definition_service.versions("agent") == [1]


def test_put_whose_body_names_another_machine_is_422(client):
    response = put(client, AGENT_V2, name="robot")
    assert response.status_code == 422
    assert response.json["errors"]["body"] == [
        "robot:3: name: is 'agent', but the path names 'robot'"
    ]


def test_put_needs_an_admin_key(client):
    assert put(client, AGENT_V2, headers=WRITER).status_code == 403


def test_versions_list_each_version_with_its_instances(client):
    client.post("/v1/agents", json={"id": "old"}, headers=ADMIN)
    put(client, AGENT_V2)
    for agent_id in ("new-1", "new-2"):
        client.post("/v1/agents", json={"id": agent_id}, headers=ADMIN)
    versions = client.get("/v1/machines/agent/versions", headers=ADMIN).json
    assert [(v["version"], v["retired"], v["instances"]) for v in versions] == [
        (1, False, 1),
        (2, False, 2),
    ]


def test_a_retired_version_takes_no_new_agents_but_its_agents_go_on(client):
    put(client, AGENT_V2)
    client.post("/v1/agents", json={"id": "on-v2"}, headers=ADMIN)
    retired = client.post("/v1/machines/agent/versions/2/retire", headers=ADMIN)
    assert (retired.status_code, retired.json["retired"]) == (200, True)
    newer = client.post("/v1/agents", json={"id": "after"}, headers=ADMIN)
    assert newer.json["machine"] == {"name": "agent", "version": 1}
    fired = client.post("/v1/agents/on-v2/events", json={"event": "activate"}, headers=ADMIN)
    assert (fired.status_code, fired.json["agent"]["machine"]["version"]) == (200, 2)


def test_with_every_version_retired_a_registration_is_409(client):
    client.post("/v1/machines/agent/versions/1/retire", headers=ADMIN)
    refused = client.post("/v1/agents", json={"id": "late"}, headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json["message"] == (
        "every version of machine 'agent' is retired; it takes no new instances"
    )


def test_retiring_an_unknown_version_is_404(client):
    assert client.post("/v1/machines/agent/versions/9/retire", headers=ADMIN).status_code == 404


def test_retiring_needs_an_admin_key(client):
    response = client.post("/v1/machines/agent/versions/1/retire", headers=WRITER)
    assert response.status_code == 403
