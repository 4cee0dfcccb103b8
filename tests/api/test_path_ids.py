"""Ids in the URL path are checked like ids in a body: a malformed one is a 422 on every store.

Each test runs against every backend (memory, SQLite, and PostgreSQL when configured):
PostgreSQL refuses a NUL in a text parameter, so an unchecked `%00` would be a 500 there.
"""

from __future__ import annotations

import pytest

from opscore.api import create_app
from opscore.clock import SystemClock
from opscore.core import OpsCore
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH

ID_PATHS = [
    ("get", "/v1/agents/{}"),
    ("post", "/v1/agents/{}/events"),
    ("get", "/v1/agents/{}/history"),
    ("get", "/v1/agents/{}/diagram"),
    ("get", "/v1/agents/{}/sessions"),
    ("post", "/v1/agents/{}/sessions"),
    ("get", "/v1/agents/{}/tasks"),
    ("get", "/v1/sessions/{}"),
    ("post", "/v1/sessions/{}/events"),
    ("get", "/v1/sessions/{}/history"),
    ("get", "/v1/runs/{}"),
    ("get", "/v1/runs/{}/history"),
    ("get", "/v1/runs/{}/diagram"),
    ("post", "/v1/runs/{}/cancel"),
    ("post", "/v1/runs/{}/redrive"),
    ("post", "/v1/runs/{}/steps/review/complete"),
    ("post", "/v1/runs/{}/steps/review/fail"),
    ("get", "/v1/tasks/{}"),
    ("post", "/v1/tasks/{}/heartbeat"),
    ("post", "/v1/tasks/{}/complete"),
    ("post", "/v1/tasks/{}/fail"),
]
ID_RULE = "must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
MALFORMED_IDS = ["bad%20id%21", "a%00b", "%00", "-leading-dash", "caf%C3%A9"]


@pytest.fixture
def client(definitions, callbacks, backend):
    """A client of the service over an empty store of each backend."""
    store = make_store(backend, SystemClock(), history_cap=50)
    core = OpsCore(definitions, store, callbacks)
    yield create_app({"api_keys": API_KEY, "log_level": "CRITICAL"}, core=core).test_client()
    close_store(store)


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_malformed_id_in_the_path_of_every_id_route_is_422_naming_the_rule(client, bad_id):
    refused = {}
    for method, path in ID_PATHS:
        response = getattr(client, method)(path.format(bad_id), json={}, headers=AUTH)
        problems = response.json.get("errors", {}).get("path", {})
        refused[(method, path)] = (response.status_code, [*problems.values()])
    assert refused == {route: (422, [[ID_RULE]]) for route in ID_PATHS}


def test_nul_in_a_name_in_the_path_is_422_not_a_server_error(client):
    response = client.get("/v1/machines/agent%00", headers=AUTH)
    assert response.status_code == 422
    assert response.json["errors"]["path"]["name"] == [
        "must be 1-64 letters, digits or '_', starting with a letter"
    ]


def test_well_formed_id_in_the_path_that_names_nothing_is_still_404(client):
    assert client.get("/v1/runs/no-such-run", headers=AUTH).status_code == 404
