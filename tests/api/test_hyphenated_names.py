"""Names with hyphens, end to end over HTTP: a machine, its states and events, a workflow,
its steps, a branch and a task type (`opscore.names`)."""

from __future__ import annotations

import pytest

from opscore.api import create_app
from opscore.core import OpsCore
from opscore.store import MemoryStore
from opscore.tasks.builtin import builtin_tasks
from tests.support.constants import API_KEY, AUTH
from tests.support.polling import poll_until

MY_BOT = """\
kind: agent
name: my-bot
version: 1
initial: idle
states:
  - idle
  - waiting-for-input
  - {name: shut-down, final: true}
transitions:
  - {trigger: activate, source: idle, dest: waiting-for-input}
  - {trigger: complete, source: waiting-for-input, dest: idle}
  - {trigger: fail, source: waiting-for-input, dest: idle}
  - {trigger: shut-down, source: "*", dest: shut-down}
"""

MY_FLOW = """\
kind: workflow
name: my-flow
version: 1
start: fan-out
steps:
  fan-out:
    parallel:
      branches:
        branch-a:
          start: ask-agent
          steps:
            ask-agent: {task: agent, next: succeeded}
    next: wrap-up
  wrap-up: {task: my-task, next: succeeded}
"""


@pytest.fixture
def client(tmp_path, callbacks):
    """A service over `my-bot` and `my-flow`, with the task type `my-task` and two workers."""
    (tmp_path / "my-bot.yaml").write_text(MY_BOT)
    (tmp_path / "my-flow.yaml").write_text(MY_FLOW)
    tasks = builtin_tasks()
    tasks.task("my-task")(lambda ctx: {"wrapped": True})
    core = OpsCore.from_paths([tmp_path], MemoryStore(), callbacks, tasks)
    core.start(2)
    yield create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core).test_client()
    core.stop()


def test_an_agent_of_a_hyphenated_machine_takes_a_hyphenated_event(client):
    registered = client.post("/v1/agents", json={"id": "bot-1", "machine": "my-bot"}, headers=AUTH)
    assert registered.status_code == 201
    fired = client.post("/v1/agents/bot-1/events", json={"event": "shut-down"}, headers=AUTH)
    assert (fired.status_code, fired.json["agent"]["state"]) == (200, "shut-down")
    assert client.get("/v1/machines/my-bot", headers=AUTH).json["name"] == "my-bot"


def test_a_hyphenated_machine_is_drawn_with_escaped_mermaid_ids_and_its_own_labels(client):
    text = client.get("/v1/machines/my-bot/diagram?state=waiting-for-input", headers=AUTH).text
    assert 'state "waiting-for-input" as waiting_2d_for_2d_input' in text
    assert "class waiting_2d_for_2d_input s_active" in text
    assert "idle --> shut_2d_down: shut-down" in text
    assert "shut_2d_down --> [*]" in text


def test_a_hyphenated_workflow_runs_through_a_hyphenated_branch_step_and_task_type(client):
    client.post("/v1/agents", json={"id": "bot-1", "machine": "my-bot"}, headers=AUTH)
    started = client.post(
        "/v1/workflows/my-flow/runs", json={"input": {}, "agent_id": "bot-1"}, headers=AUTH
    )
    assert started.status_code == 202, started.json
    run_id = started.json["id"]
    poll_until(
        lambda: client.get("/v1/agents/bot-1/tasks", headers=AUTH).json, what="the agent's task"
    )
    reported = client.post(
        f"/v1/runs/{run_id}/steps/fan-out/branch-a/ask-agent/complete",
        json={"output": {"answer": 42}},
        headers=AUTH,
    )
    assert reported.status_code == 200, reported.json

    def finished():
        run = client.get(f"/v1/runs/{run_id}", headers=AUTH).json
        return run if run["status"] == "succeeded" else None

    assert poll_until(finished, what="the run to succeed")["output"] == {"wrapped": True}
    drawing = client.get("/v1/workflows/my-flow/diagram", headers=AUTH).text
    assert "[*] --> fan_2d_out" in drawing


def test_metrics_label_the_hyphenated_machine_by_its_name(client):
    client.post("/v1/agents", json={"id": "bot-1", "machine": "my-bot"}, headers=AUTH)
    client.post("/v1/agents/bot-1/events", json={"event": "shut-down"}, headers=AUTH)
    text = client.get("/metrics", headers=AUTH).text
    assert 'machine="my-bot"' in text
    assert 'event="shut-down"' in text
