"""The shipped `panel_review` template end to end over HTTP: a legal reviewer and a panel
of editors each find their own task, report it, and the answers are merged in order."""

from __future__ import annotations

import pytest

from tests.support.constants import AUTH
from tests.support.polling import poll_until

EDITORS = ["ed-1", "ed-2", "ed-3", "ed-4", "ed-5"]


@pytest.fixture
def app(workflow_app):
    """The workflow core (real workers on every store) behind the API."""
    return workflow_app


@pytest.fixture
def panel(client):
    for agent in ["legal-1", *EDITORS]:
        assert client.post("/v1/agents", json={"id": agent}, headers=AUTH).status_code == 201
    body = {"input": {"document": "Q3 plan", "legal": "legal-1", "editors": EDITORS}}
    response = client.post("/v1/workflows/panel_review/runs", json=body, headers=AUTH)
    assert response.status_code == 202, response.json
    return response.json["id"]


def tasks_of(client, agent):
    return client.get(f"/v1/agents/{agent}/tasks", headers=AUTH).json


def report(client, run_id, task, output):
    path = f"/v1/runs/{run_id}/steps/{task['step']}/complete"
    response = client.post(path, json={"output": output}, headers=AUTH)
    assert response.status_code == 200, response.json


def test_each_reviewer_finds_its_own_task_and_the_answers_are_merged(client, panel):
    legal = poll_until(lambda: tasks_of(client, "legal-1"), what="the legal task")
    assert [t["step"] for t in legal] == ["review/legal/legal_review"]
    report(client, panel, legal[0], {"verdict": "approve"})
    for seat, editor in enumerate(EDITORS):
        [task] = poll_until(lambda e=editor: tasks_of(client, e), what=f"{editor}'s task")
        assert task["step"] == f"review/editorial/panel/{seat}/edit"
        assert task["request"]["seat"] == seat
        report(client, panel, task, {"verdict": "revise", "by": editor})
    run = poll_until(
        lambda: (
            (r := client.get(f"/v1/runs/{panel}", headers=AUTH).json)["status"] != "running" and r
        ),
        what="the run to end",
    )
    assert run["status"] == "succeeded"
    assert run["output"]["legal"] == {"verdict": "approve"}
    assert [r["by"] for r in run["output"]["editorial"]] == EDITORS


def test_at_most_four_editors_review_at_once(client, panel):
    poll_until(lambda: tasks_of(client, "ed-4"), what="the fourth editor's task")
    assert tasks_of(client, "ed-5") == []
    run = client.get(f"/v1/runs/{panel}", headers=AUTH).json
    [panel_step] = [s for s in run["steps"] if s["name"] == "review/editorial/panel"]
    assert panel_step["branches"] == {"total": 5, "running": 4}
