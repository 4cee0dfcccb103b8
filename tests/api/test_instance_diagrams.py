"""`/v1/agents/{id}/diagram` and `/v1/runs/{id}/diagram`: live instances drawn in Mermaid."""

from __future__ import annotations

import pytest

from opscore.definitions import load_text
from opscore.runs import StepRecord
from opscore.runs.diagram import run_path
from tests.support.constants import AUTH, MACHINES


def drain(core) -> None:
    """Carry out every ready work item in this thread: runs advance without workers."""
    queue = core.store.queue
    while (item := queue.claim(timeout=0)) is not None:
        try:
            core.runner.process(item)
        finally:
            queue.done(item)


def classes(diagram: str) -> dict[str, str]:
    """State name -> the style class the diagram gives it."""
    return {
        line.split()[1]: line.split()[2]
        for line in diagram.splitlines()
        if line.startswith("  class ")
    }


@pytest.fixture
def agent(client):
    response = client.post("/v1/agents", json={"id": "reviewer-1"}, headers=AUTH)
    assert response.status_code == 201
    return response.json


@pytest.fixture
def review_run(client, core, agent):
    """A review_document run bound to the agent, waiting for its `review` report."""
    response = client.post(
        "/v1/workflows/review_document/runs",
        json={"input": {"document": "Q3 plan"}, "agent_id": agent["id"]},
        headers=AUTH,
    )
    assert response.status_code == 202
    drain(core)
    return response.json


def test_agent_diagram_is_mermaid_text_with_its_current_state_highlighted(client, agent):
    client.post(f"/v1/agents/{agent['id']}/events", json={"event": "activate"}, headers=AUTH)
    response = client.get(f"/v1/agents/{agent['id']}/diagram", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.text.startswith('---\ntitle: "agent v1"\n---\nstateDiagram-v2\n')
    assert classes(response.text) == {
        "idle": "s_default",
        "active": "s_active",
        "paused": "s_default",
        "error": "s_default",
        "terminated": "s_default",
    }


def test_agent_diagram_draws_the_machine_version_the_agent_is_pinned_to(
    client, core, callbacks, agent
):
    text = (MACHINES / "agent.yaml").read_text().replace("version: 1", "version: 2")
    text = text.replace("description: Start working on a task.", "description: Go.")
    core.definitions.add(load_text(text, "agent_v2.yaml", callbacks).definition)
    response = client.get(f"/v1/agents/{agent['id']}/diagram", headers=AUTH)
    assert 'title: "agent v1"' in response.text


def test_run_diagram_highlights_the_step_the_run_waits_in(client, review_run):
    response = client.get(f"/v1/runs/{review_run['id']}/diagram", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert 'title: "review_document v1"' in response.text
    highlighted = {k: v for k, v in classes(response.text).items() if v != "s_default"}
    assert highlighted == {"review": "s_active"}


def test_run_diagram_shows_the_path_taken_to_the_current_state(client, core, review_run):
    run_id = review_run["id"]
    output = {"verdict": "revise", "notes": "tighten the summary"}
    reply = client.post(
        f"/v1/runs/{run_id}/steps/review/complete", json={"output": output}, headers=AUTH
    )
    assert reply.status_code == 200
    drain(core)
    assert client.get(f"/v1/runs/{run_id}", headers=AUTH).json["state"] == "succeeded"
    diagram = client.get(f"/v1/runs/{run_id}/diagram", headers=AUTH).text
    highlighted = {k: v for k, v in classes(diagram).items() if v != "s_default"}
    assert highlighted == {
        "review": "s_previous",
        "decide": "s_previous",
        "request_changes": "s_previous",
        "succeeded": "s_active",
    }


def test_run_diagram_marks_the_failed_step_and_the_failed_state(client, core, review_run):
    run_id = review_run["id"]
    reply = client.post(
        f"/v1/runs/{run_id}/steps/review/fail",
        json={"error": "Review.Refused", "message": "not my field"},
        headers=AUTH,
    )
    assert reply.status_code == 200
    drain(core)
    diagram = client.get(f"/v1/runs/{run_id}/diagram", headers=AUTH).text
    highlighted = {k: v for k, v in classes(diagram).items() if v != "s_default"}
    assert highlighted == {"review": "s_failed", "failed": "s_active"}


@pytest.mark.parametrize("path", ["/v1/agents/nobody/diagram", "/v1/runs/nothing/diagram"])
def test_diagram_of_an_unknown_instance_is_404(client, path):
    response = client.get(path, headers=AUTH)
    assert response.status_code == 404
    assert response.json["code"] == 404


@pytest.mark.parametrize("kind", ["agents", "runs"])
def test_diagram_without_an_api_key_is_401(client, agent, review_run, kind):
    instance_id = agent["id"] if kind == "agents" else review_run["id"]
    assert client.get(f"/v1/{kind}/{instance_id}/diagram").status_code == 401


@pytest.mark.parametrize("path", ["/v1/agents/{agent_id}/diagram", "/v1/runs/{run_id}/diagram"])
def test_instance_diagrams_are_documented_as_mermaid_text(client, path):
    spec = client.get("/openapi.json").json
    operation = spec["paths"][path]["get"]
    assert "security" not in operation  # the document-wide API key requirement applies
    assert {"ApiKeyAuth": []} in spec["security"]
    content = operation["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]
    assert content["text/plain"]["schema"]["type"] == "string"
    assert {"401", "404"} <= set(operation["responses"])


def test_run_path_keeps_steps_whose_history_records_were_dropped(core, review_run):
    run = core.runs.get(review_run["id"])
    queued = StepRecord.entered(None)
    state = core.runs.state(run).with_step("decide", queued).with_step("publish", queued)
    advanced = run.evolve(state="publish")
    assert run_path(advanced, state, history=[]) == (["review", "decide"], None)
