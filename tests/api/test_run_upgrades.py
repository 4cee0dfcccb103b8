"""`POST /v1/runs/{id}/upgrade`: a run none of whose steps runs moves to a newer version of
its workflow, stored over the API, and goes on with its steps; a run whose step runs is a
409, a map to a step the version lacks a 422 naming `states`, and neither changes anything.
On every backend, with the scope the agent upgrade takes (write)."""

from __future__ import annotations

import pytest

from opscore.api import create_app
from tests.support.constants import API_KEY, AUTH
from tests.support.polling import poll_until
from tests.support.upgrades import RELEASE_V1, RELEASE_V2

YAML = {**AUTH, "Content-Type": "application/yaml"}
READ_KEY = "read-only-key"


@pytest.fixture
def app(workflow_core):
    """The workflow core behind the API, with a read key besides the test key."""
    keys = f"{API_KEY},read:{READ_KEY}"
    return create_app({"api_keys": keys, "log_level": "WARNING"}, core=workflow_core)


@pytest.fixture
def waiting(client):
    """The id of a run of `release` v1 waiting for its approval, with v2 stored beside it."""
    store(client, RELEASE_V1)
    run_id = client.post("/v1/workflows/release/runs", json={}, headers=AUTH).json["id"]
    store(client, RELEASE_V2)
    poll_until(lambda: approval(client), what="the approval task")
    return run_id


def store(client, template):
    """Store a version of a workflow over the API."""
    response = client.put("/v1/machines/release", data=template, headers=YAML)
    assert response.status_code == 201, response.json


def approval(client):
    """The input tasks waiting for an answer."""
    return client.get("/v1/tasks?state=input-required", headers=AUTH).json


def ended(client, run_id):
    """The run once it has ended, else None."""
    run = client.get(f"/v1/runs/{run_id}", headers=AUTH).json
    return run if run["status"] != "running" else None


def upgrade(client, run_id, body, headers=AUTH):
    return client.post(f"/v1/runs/{run_id}/upgrade", json=body, headers=headers)


def test_an_upgrade_answers_the_run_on_the_new_version_and_its_upgrade_transition(client, waiting):
    response = upgrade(client, waiting, {"version": 2, "states": {"publish": "ship"}})
    assert response.status_code == 200, response.json
    run, transition = response.json["run"], response.json["transition"]
    assert (run["workflow"], run["state"]) == ({"name": "release", "version": 2}, "approve")
    assert (transition["event"], transition["data"]) == (
        "(upgrade)",
        {"from_version": 1, "to_version": 2},
    )
    current = client.get(f"/v1/runs/{waiting}", headers=AUTH)
    assert response.headers["ETag"] == current.headers["ETag"]


def test_the_upgraded_run_finishes_through_the_new_versions_steps(client, waiting):
    upgrade(client, waiting, {"version": 2, "states": {"publish": "ship"}})
    [task] = approval(client)
    client.post(f"/v1/tasks/{task['id']}/complete", json={"output": {}}, headers=AUTH)
    done = poll_until(lambda: ended(client, waiting), what="the run's end")
    assert (done["state"], [s["name"] for s in done["steps"]]) == (
        "succeeded",
        ["draft", "approve", "check", "ship"],
    )
    history = client.get(f"/v1/runs/{waiting}/history", headers=AUTH).json
    assert [(r["event"], r["dest"]) for r in history[1:3]] == [
        ("(upgrade)", "approve"),
        ("succeed", "check"),
    ]


def test_a_map_to_a_step_the_version_lacks_is_422_naming_states_and_changes_nothing(
    client, waiting
):
    before = client.get(f"/v1/runs/{waiting}", headers=AUTH)
    response = upgrade(client, waiting, {"version": 2, "states": {"publish": "release"}})
    assert (response.status_code, response.json["errors"]["json"]) == (
        422,
        {"states": ["step 'release' (for 'publish') does not exist in 'release' version 2"]},
    )
    assert client.get(f"/v1/runs/{waiting}", headers=AUTH).headers["ETag"] == before.headers["ETag"]


def test_a_run_whose_step_is_running_is_409_with_the_reason(
    client, workflow_core, add_workflow, add_template, gate
):
    add_workflow("held", "hang")
    run_id = client.post("/v1/workflows/held/runs", json={}, headers=AUTH).json["id"]
    add_template(RELEASE_V2.replace("name: release", "name: held"))  # held v2
    gate.wait_entered()
    response = upgrade(client, run_id, {"version": 2, "states": {"only": "draft"}})
    assert response.status_code == 409
    assert response.json["message"].startswith(
        f"run '{run_id}' cannot be upgraded now: step 'only' is running"
    )
    assert client.get(f"/v1/runs/{run_id}", headers=AUTH).json["workflow"]["version"] == 1


@pytest.mark.parametrize(
    ("run_id", "version"), [("ghost", 2), (None, 7)], ids=["unknown run", "unknown version"]
)
def test_an_unknown_run_or_version_is_404(client, waiting, run_id, version):
    assert upgrade(client, run_id or waiting, {"version": version}).status_code == 404


def test_a_read_key_may_not_upgrade_a_run(client, waiting):
    response = upgrade(client, waiting, {"version": 2}, headers={"X-API-Key": READ_KEY})
    assert response.status_code == 403


def test_a_replayed_upgrade_answers_the_first_answer_without_a_second_transition(client, waiting):
    headers = {**AUTH, "Idempotency-Key": "upgrade-1"}
    first = upgrade(client, waiting, {"version": 2}, headers)
    again = upgrade(client, waiting, {"version": 2}, headers)
    assert (again.status_code, again.json) == (200, first.json)
    history = client.get(f"/v1/runs/{waiting}/history", headers=AUTH).json
    assert [r["event"] for r in history].count("(upgrade)") == 1
