"""`/v1/machines`: list, show, versions, diagrams and validation without loading."""

from __future__ import annotations

import json
import shutil

import pytest

from opscore.api import create_app
from opscore.core import OpsCore
from opscore.definitions import load_text
from opscore.store import MemoryStore
from tests.support.constants import API_KEY, AUTH, MACHINES, TEST_MACHINES


def test_list_machines_shows_the_latest_version_of_each(client):
    response = client.get("/v1/machines", headers=AUTH)
    assert response.status_code == 200
    assert [(m["name"], m["kind"], m["version"], m["versions"]) for m in response.json] == [
        ("agent", "agent", 1, [1]),
        ("fetch_report", "workflow", 1, [1]),
        ("panel_review", "workflow", 1, [1]),
        ("review_document", "workflow", 1, [1]),
        ("session", "session", 1, [1]),
    ]
    assert [m["name"] for m in client.get("/v1/machines?kind=session", headers=AUTH).json] == [
        "session"
    ]


def test_get_machine_shows_states_transitions_and_hash(client, core):
    body = client.get("/v1/machines/agent", headers=AUTH).json
    assert body["content_hash"] == core.definitions.get("agent").content_hash
    assert body["initial"] == "idle"
    assert [s["name"] for s in body["states"]] == [
        "idle",
        "active",
        "paused",
        "error",
        "terminated",
    ]
    terminate = next(t for t in body["transitions"] if t["trigger"] == "terminate")
    assert terminate["sources"] == ["idle", "active", "paused", "error"]


def test_older_version_is_served_with_version_query(client, core, callbacks):
    text = (MACHINES / "agent.yaml").read_text().replace("version: 1", "version: 2")
    text = text.replace("description: Start working on a task.", "description: Go.")
    core.definitions.add(load_text(text, "agent_v2.yaml", callbacks).definition)
    assert client.get("/v1/machines/agent", headers=AUTH).json["version"] == 2
    old = client.get("/v1/machines/agent?version=1", headers=AUTH).json
    assert (old["version"], old["versions"]) == (1, [1, 2])
    assert client.get("/v1/machines/agent?version=7", headers=AUTH).status_code == 404


def test_unknown_machine_is_404(client):
    assert client.get("/v1/machines/robot", headers=AUTH).status_code == 404
    assert client.get("/v1/machines/robot/diagram", headers=AUTH).status_code == 404


def test_diagram_is_mermaid_text_with_the_state_highlighted(client):
    response = client.get("/v1/machines/agent/diagram?state=paused", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "stateDiagram-v2" in response.text
    assert "class paused s_active" in response.text
    bad = client.get("/v1/machines/agent/diagram?state=flying", headers=AUTH)
    assert bad.status_code == 422


def test_validate_reports_the_same_problems_as_the_cli(client, core):
    text = (TEST_MACHINES / "invalid" / "unknown_dest.yaml").read_bytes()
    response = client.post(
        "/v1/machines/validate?file=agent.yaml",
        data=text,
        headers={**AUTH, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200
    assert response.json["valid"] is False
    assert [p["text"] for p in response.json["problems"]] == [
        "agent.yaml:13: transitions[0].dest: unknown state 'actve'"
    ]
    assert response.json["machine"] is None
    assert len(core.definitions) == 5


def test_validate_accepts_json_and_does_not_load_the_definition(client, core):
    text = (TEST_MACHINES / "valid" / "chat.json").read_bytes()
    response = client.post(
        "/v1/machines/validate", data=text, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.json["valid"] is True
    assert response.json["machine"]["name"] == "chat"
    assert "chat" not in [d.name for d in core.definitions.latest()]


def test_validate_accepts_json_with_an_escaped_emoji_as_json_dumps_writes_it(client):
    text = (TEST_MACHINES / "valid" / "chat.json").read_text()
    definition = {**json.loads(text), "description": "launch \U0001f680"}
    response = client.post(
        "/v1/machines/validate",
        data=json.dumps(definition),  # "\ud83d\ude80": a surrogate pair, valid JSON
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json["valid"]) == (200, True), response.json


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "request:1: (root): not UTF-8 text: invalid start byte"),
        (
            b"kind: [",
            "request:1: (root): while parsing a flow node did not find expected node content",
        ),
        (b"'just a string'", "request:1: (root): the document must be a mapping"),
        (b"", "request:1: (root): the document is empty"),
        # Nesting deep enough to exhaust the YAML composer's recursion used to be a 500.
        (b"[" * 5000, "request:1: (root): document is nested deeper than 64 levels"),
        # A control character used to escape as a ReaderError: a 500.
        (
            b"\x1f",
            "request:1: (root): unacceptable character #x001f: special characters are not allowed",
        ),
    ],
)
def test_validate_body_that_is_not_a_mapping_is_422_with_its_problem(client, data, message):
    response = client.post(
        "/v1/machines/validate", data=data, headers={**AUTH, "Content-Type": "text/yaml"}
    )
    assert response.status_code == 422
    assert response.json["errors"]["body"] == [message]


def test_validate_of_a_workflow_with_an_unknown_task_type_is_invalid_as_loading_is(client):
    text = (TEST_MACHINES / "invalid_workflows" / "unknown_task_type.yaml").read_bytes()
    response = client.post(
        "/v1/machines/validate?file=w.yaml",
        data=text,
        headers={**AUTH, "Content-Type": "application/yaml"},
    )
    assert response.json["valid"] is False
    assert [p["text"] for p in response.json["problems"]] == [
        "w.yaml:7: steps.first.task: unknown task type 'teleport'"
    ]


def test_reload_loads_a_new_version_from_the_cores_folder_and_lists_it(tmp_path, callbacks):
    shutil.copytree(MACHINES, tmp_path / "machines")
    core = OpsCore.from_paths([tmp_path / "machines"], MemoryStore(), callbacks)
    client = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core).test_client()
    agent = (tmp_path / "machines" / "agent.yaml").read_text()
    (tmp_path / "machines" / "agent_v2.yaml").write_text(agent.replace("version: 1", "version: 2"))
    first = client.post("/v1/machines/reload", headers=AUTH).json
    again = client.post("/v1/machines/reload", headers=AUTH).json
    assert (first["added"], again["added"]) == ([{"name": "agent", "version": 2}], [])
    listed = client.get("/v1/machines/agent", headers=AUTH).json
    assert (listed["version"], listed["versions"]) == (2, [1, 2])
