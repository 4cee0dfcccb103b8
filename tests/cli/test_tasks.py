"""`opscore tasks ...` and `opscore agents heartbeat|explain` against a real service."""

from __future__ import annotations

import json

import pytest

from tests.support.polling import poll_until
from tests.support.routed import add_routed


@pytest.fixture
def routed(service_core, callbacks, api):
    add_routed(service_core, callbacks)
    api.agents.register("s1", capabilities=["summarize"])
    run = api.runs.start("routed", input={"doc": "d"})
    poll_until(lambda: api.tasks.list(capability="summarize"), what="the task offered")
    return run


def test_list_claim_and_complete_a_task(cli, api, routed):
    listed = cli("tasks", "list", "--capability", "summarize")
    assert listed.exit_code == 0, listed.output
    assert routed["id"] in listed.stdout
    assert "submitted" in listed.stdout
    claimed = json.loads(cli("tasks", "claim", "--agent-id", "s1", "--json").stdout)
    assert claimed["state"] == "working"
    done = cli(
        "tasks",
        "complete",
        claimed["id"],
        "--lease-token",
        claimed["lease_token"],
        "--output",
        '{"summary": "ok"}',
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"task {claimed['id']} reported: run {routed['id']} is ")
    assert api.runs.wait(routed["id"], timeout=15, interval=0.01)["output"] == {"summary": "ok"}


def test_a_report_with_a_wrong_token_exits_4(cli, routed):
    claimed = json.loads(cli("tasks", "claim", "--agent-id", "s1", "--json").stdout)
    result = cli("tasks", "fail", claimed["id"], "--error", "Agent.Down", "--lease-token", "no")
    assert result.exit_code == 4


def test_a_claim_with_nothing_to_take_exits_3(cli, api):
    api.agents.register("idle-one")
    assert cli("tasks", "claim", "--agent-id", "idle-one").exit_code == 3


def test_agents_heartbeat_and_explain(cli, api, routed):
    beat = cli("agents", "heartbeat", "s1")
    assert beat.exit_code == 0, beat.output
    assert beat.stdout.startswith("agent s1 seen at ")
    explained = cli("agents", "explain", "s1")
    assert "1 task(s) wait for an agent with its capabilities" in explained.stdout
    run = cli("runs", "explain", routed["id"])
    assert run.stdout.splitlines()[0] == f"{routed['id']}: review (submitted)"
