"""Agent liveness on every store: heartbeats record `last_seen`; an agent whose machine
watches heartbeats and stays silent gets its `missed` event once per silence, and the tasks
it holds go back to the queue."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

import pytest

from opscore.definitions import load_text
from opscore.errors import AgentEnded, AgentNotFound, LeaseLost
from opscore.runs import TaskState
from tests.support.constants import ROOT
from tests.support.polling import poll_until
from tests.support.servers import free_port, running_server

WATCHED = """
kind: agent
name: watched
version: 1
initial: idle
states: [idle, busy, lost, {name: gone, final: true}]
transitions:
  - {trigger: activate, source: idle, dest: busy}
  - {trigger: complete, source: busy, dest: idle}
  - {trigger: fail, source: busy, dest: idle}
  - {trigger: lose, source: "*", dest: lost}
  - {trigger: back, source: lost, dest: idle}
  - {trigger: terminate, source: "*", dest: gone}
heartbeat: {every: 30s, missed: lose}
"""

LONG_LEASE = """
kind: workflow
name: long_lease
version: 1
start: review
steps:
  review: {task: agent, capability: summarize, lease: 10m, next: succeeded}
"""


@pytest.fixture
def watched(workflow_core, callbacks, add_template):
    """The `watched` agent machine (silent 30 s: `lose`) and a template with a long lease."""
    result = load_text(WATCHED, "watched.yaml", callbacks)
    assert result.problems == []
    workflow_core.definitions.add(result.definition)
    add_template(LONG_LEASE)
    return workflow_core


def missed_events(core, agent_id):
    return [r for r in core.agents.history(agent_id).items if r.event == "lose"]


def test_a_silent_agent_gets_its_missed_event_once(watched, clock):
    watched.agents.register(agent_id="w1", machine="watched")
    clock.advance(31)
    watched.sweeper.sweep()
    watched.sweeper.sweep()  # a second sweep (and the running sweeper's) finds it reported
    events = missed_events(watched, "w1")
    assert [(e.source, e.dest, e.data["reason"]) for e in events] == [
        ("idle", "lost", "heartbeat_missed")
    ]
    assert events[0].data["last_seen"].endswith("Z")


def test_a_heartbeat_within_the_interval_postpones_the_miss(watched, clock):
    watched.agents.register(agent_id="w1", machine="watched")
    clock.advance(20)
    beat = watched.agents.liveness.beat("w1")
    clock.advance(20)  # 40 s after registration, 20 s after the heartbeat
    watched.sweeper.sweep()
    assert missed_events(watched, "w1") == []
    assert beat.due == beat.last_seen + 30
    clock.advance(11)
    watched.sweeper.sweep()
    assert len(missed_events(watched, "w1")) == 1


def test_each_silence_is_reported_once(watched, clock):
    watched.agents.register(agent_id="w1", machine="watched")
    clock.advance(31)
    watched.sweeper.sweep()
    watched.agents.fire_event("w1", "back")
    watched.agents.liveness.beat("w1")
    clock.advance(31)
    watched.sweeper.sweep()
    watched.sweeper.sweep()
    assert [e.source for e in missed_events(watched, "w1")] == ["idle", "idle"]


def test_an_agent_on_a_machine_without_heartbeats_is_never_reported(watched, clock):
    watched.agents.register(agent_id="plain")
    beat = watched.agents.liveness.beat("plain")
    clock.advance(3600)
    watched.sweeper.sweep()
    assert beat.due is None
    assert [r.event for r in watched.agents.history("plain").items] == []
    assert watched.agents.liveness.seen(["plain"])["plain"].last_seen == beat.last_seen


def test_a_heartbeat_of_an_unknown_or_final_agent_is_refused(watched):
    with pytest.raises(AgentNotFound):
        watched.agents.liveness.beat("nobody")
    watched.agents.register(agent_id="w1", machine="watched")
    watched.agents.fire_event("w1", "terminate")
    with pytest.raises(AgentEnded):
        watched.agents.liveness.beat("w1")


def test_a_silent_agents_task_goes_back_to_the_queue_and_its_late_report_is_409(watched, clock):
    for name in ("w1", "w2"):
        watched.agents.register(agent_id=name, machine="watched", capabilities=["summarize"])
    run = watched.runs.start("long_lease", {})
    tasks = watched.agent_tasks
    poll_until(lambda: tasks.list(capability="summarize"), what="the task offered")
    first, first_token = tasks.claim("w1")
    assert watched.agents.get("w1").state == "busy"
    watched.agents.liveness.beat("w2")
    clock.advance(20)
    watched.agents.liveness.beat("w2")  # w2 keeps beating; w1 is silent from its claim
    clock.advance(11)
    watched.sweeper.sweep()
    assert watched.agents.get("w1").state == "lost"
    assert tasks.get(first.id).state == TaskState.SUBMITTED
    second, second_token = tasks.claim("w2")
    assert second.id == first.id  # the same attempt, under a new lease
    with pytest.raises(LeaseLost):
        tasks.complete(first.id, first_token, {"late": True})
    tasks.complete(second.id, second_token, {"by": "w2"})
    assert poll_until(lambda: watched.runs.get(run.id).state == "succeeded")


def test_a_task_heartbeat_counts_as_the_agents_heartbeat(watched, clock):
    watched.agents.register(agent_id="w1", machine="watched", capabilities=["summarize"])
    watched.runs.start("long_lease", {})
    tasks = watched.agent_tasks
    poll_until(lambda: tasks.list(capability="summarize"), what="the task offered")
    task, token = tasks.claim("w1")
    clock.advance(25)
    tasks.heartbeat(task.id, token)
    clock.advance(25)
    watched.sweeper.sweep()
    assert missed_events(watched, "w1") == []
    assert tasks.get(task.id).state == TaskState.WORKING


def test_two_server_processes_report_each_silence_once(tmp_path):
    machines = tmp_path / "machines"
    shutil.copytree(ROOT / "machines", machines)
    (machines / "watched.yaml").write_text(WATCHED.replace("every: 30s", "every: 1s"))
    port = free_port()
    env = {
        "OPSCORE_MACHINES_DIR": str(machines),
        "OPSCORE_API_KEYS": "k",
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "OPSCORE_MIGRATE_ON_START": "true",
        "OPSCORE_PROCESSES": "2",
    }
    command = [str(Path(sys.executable).parent / "opscore"), "serve", "--port", str(port)]
    with running_server(command, env, port) as url:
        _call(url, "POST", "/v1/agents", {"id": "w1", "machine": "watched"})

        def missed(count: int):
            history = _call(url, "GET", "/v1/agents/w1/history")
            events = [r for r in history if r["event"] == "lose"]
            return events if len(events) >= count else None

        first = poll_until(lambda: missed(1), what="the first silence reported", every=0.05)
        _call(url, "POST", "/v1/agents/w1/events", {"event": "back"})
        _call(url, "POST", "/v1/agents/w1/heartbeat")
        both = poll_until(lambda: missed(2), what="the second silence reported", every=0.05)
        _call(url, "POST", "/v1/agents/w1/events", {"event": "back"})
        _call(url, "POST", "/v1/agents/w1/heartbeat")  # a third silence: none of the first two
        final = _call(url, "GET", "/v1/agents/w1/history")
    seen = [r["data"]["last_seen"] for r in final if r["event"] == "lose"]
    assert seen[:2] == [e["data"]["last_seen"] for e in both]
    assert len(set(seen)) == len(seen)  # never two events for one silence
    assert first[0]["data"]["last_seen"] == seen[0]


def _call(url: str, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-API-Key": "k", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{url}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
