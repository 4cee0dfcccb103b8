"""`opscore runs ...` against a real service with workers: start, wait, show, cancel, redrive."""

from __future__ import annotations

import functools
import json

import pytest

from opscore.cli import remote
from opscore.client import OpsCoreClient
from tests.support.fake_time import FakeTime
from tests.support.polling import poll_until
from tests.support.upgrades import approving_release

FAILING_INPUT = '{"url": "ftp://example.com/report.json"}'  # refused by the http task


@pytest.fixture
def helper(api):
    """A registered agent `helper`."""
    return api.agents.register("helper")


def started_id(result) -> str:
    """The run id from `run <id> started: ...`."""
    assert result.exit_code == 0, result.output
    return result.stdout.split()[1]


def asking(api, agent_id="helper"):
    """A run of prepare_then_ask whose `ask` step waits for the agent."""
    run = api.runs.start("prepare_then_ask", agent_id=agent_id)
    poll_until(lambda: api.runs.tasks_for_agent(agent_id).items, what="the agent's task")
    return run


def test_start_prints_the_new_run(cli, api):
    result = cli("runs", "start", "three_noops")
    run_id = started_id(result)
    assert result.stdout.startswith(f"run {run_id} started: three_noops v1, state ")
    assert api.runs.get(run_id)["workflow"]["name"] == "three_noops"


def test_start_json_prints_the_run(cli):
    result = cli("runs", "start", "fetch_report", "--input", FAILING_INPUT, "--json")
    run = json.loads(result.stdout)
    assert (run["workflow"]["name"], run["input"]) == (
        "fetch_report",
        {"url": "ftp://example.com/report.json"},
    )


def test_start_with_wait_prints_the_outcome_and_exits_0_on_success(cli):
    result = cli("runs", "start", "three_noops", "--wait", "--interval", "0.01")
    assert result.exit_code == 0
    started, finished = result.stdout.splitlines()
    assert finished == f'run {started.split()[1]} succeeded: {{"n":3}}'


def test_start_with_wait_exits_7_when_the_run_fails(cli):
    result = cli(
        "runs", "start", "fetch_report", "--input", FAILING_INPUT, "--wait", "--interval", "0.01"
    )
    assert result.exit_code == 7
    assert result.stdout.splitlines()[-1].endswith(
        "failed: Task.InvalidParameters: url must be an http:// or https:// URL (step fetch)"
    )


def test_start_with_wait_exits_8_at_its_deadline(cli, helper, monkeypatch):
    fake = FakeTime()
    client = functools.partial(OpsCoreClient, sleep=fake.sleep, clock=fake.monotonic)
    monkeypatch.setattr(remote, "OpsCoreClient", client)
    result = cli(
        "runs", "start", "prepare_then_ask", "--agent-id", "helper", "--wait", "--deadline", "5"
    )
    assert result.exit_code == 8
    assert "is still" in result.stderr
    assert fake.now == 5


def test_start_reads_the_input_from_a_file(cli, api, tmp_path):
    source = tmp_path / "input.json"
    source.write_text('{"document": "Q3 plan", "priority": "high"}')
    api.agents.register("reader")
    started = cli(
        "runs", "start", "review_document", "--input", f"@{source}", "--agent-id", "reader"
    )
    run_id = started_id(started)
    assert api.runs.get(run_id)["input"] == {"document": "Q3 plan", "priority": "high"}


def test_start_with_input_the_workflow_refuses_exits_2(cli):
    result = cli("runs", "start", "review_document", "--input", '{"priority": "low"}')
    assert result.exit_code == 2
    assert "document" in result.stderr


def test_start_with_input_that_is_not_an_object_is_a_usage_error(cli):
    result = cli("runs", "start", "three_noops", "--input", "[1]")
    assert result.exit_code == 2
    assert "must be a JSON object" in result.stderr


def test_start_of_an_unknown_workflow_exits_3(cli):
    assert cli("runs", "start", "nope").exit_code == 3


def test_list_prints_a_table_of_runs(cli, api, helper):
    run = asking(api)
    result = cli("runs", "list", "--agent-id", "helper")
    assert result.exit_code == 0
    header, row = (line.split() for line in result.stdout.splitlines())
    assert header == ["ID", "WORKFLOW", "STATUS", "STEP", "AGENT", "UPDATED"]
    assert row[:6] == [run["id"], "prepare_then_ask", "v1", "running", "ask", "helper"]


def test_list_json_filters_by_workflow_and_state(cli, api, helper):
    asking(api)
    done = api.runs.start("three_noops")
    api.runs.wait(done["id"], timeout=15)
    result = cli("runs", "list", "--workflow", "three_noops", "--state", "succeeded", "--json")
    assert [r["id"] for r in json.loads(result.stdout)] == [done["id"]]


def test_show_prints_the_run_and_a_table_of_its_steps(cli, api, helper):
    run = asking(api)
    result = cli("runs", "show", run["id"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", run["id"]]
    assert "current step  ask (attempt 1, waiting for agent helper)" in lines
    assert lines[lines.index("") + 1].split() == ["STEP", "STATUS", "ATTEMPTS", "LAST", "ERROR"]
    assert [line.split()[:3] for line in lines[lines.index("") + 2 :]] == [
        ["prepare", "succeeded", "1"],
        ["ask", "waiting", "1"],
    ]


def test_show_json_prints_the_run(cli, api):
    run = api.runs.start("three_noops")
    assert json.loads(cli("runs", "show", run["id"], "--json").stdout)["id"] == run["id"]


def test_cancel_prints_the_transition_and_cancelling_again_exits_4(cli, api, helper):
    run = asking(api)
    result = cli("runs", "cancel", run["id"])
    assert result.exit_code == 0
    assert result.stdout == f"{run['id']} cancel: ask -> cancelled (seq 2)\n"
    again = cli("runs", "cancel", run["id"])
    assert again.exit_code == 4
    assert "not allowed in state 'cancelled'" in again.stderr


def test_redrive_restarts_a_failed_run_at_its_failed_step(cli, api, helper):
    run = asking(api)
    api.runs.fail_step(run["id"], "ask", "Agent.Unavailable", "away")
    api.runs.wait(run["id"], timeout=15)
    result = cli("runs", "redrive", run["id"], "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["transition"]["event"] == "redrive_ask"


def test_redrive_of_a_run_that_did_not_fail_exits_4(cli, api, helper):
    run = asking(api)
    assert cli("runs", "redrive", run["id"]).exit_code == 4


@pytest.fixture
def approving(api):
    """A run of `release` v1 waiting for its approval, with v2 stored beside it."""
    return approving_release(api)


def test_upgrade_prints_the_runs_upgrade_transition(cli, api, approving):
    result = cli("runs", "upgrade", approving["id"], "--version", "2", "--state", "publish=ship")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{approving['id']} (upgrade): approve -> approve (seq ")
    assert api.runs.get(approving["id"])["workflow"]["version"] == 2


def test_upgrade_to_a_step_the_version_lacks_exits_2_with_the_reason(cli, approving):
    result = cli("runs", "upgrade", approving["id"], "--version", "2", "--state", "a=nowhere")
    assert result.exit_code == 2
    assert "step 'nowhere' (for 'a') does not exist in 'release' version 2" in result.stderr


def test_upgrade_with_a_state_that_is_not_old_equals_new_is_a_usage_error(cli):
    result = cli("runs", "upgrade", "r1", "--version", "2", "--state", "publish")
    assert result.exit_code == 2
    assert "'publish' is not OLD=NEW" in result.stderr


def test_show_of_an_unknown_run_exits_3(cli):
    result = cli("runs", "show", "ghost")
    assert (result.exit_code, result.stderr) == (3, "Error: run 'ghost' not found\n")


def test_start_of_an_unknown_workflow_names_a_workflow(cli):
    result = cli("runs", "start", "nope")
    assert (result.exit_code, result.stderr) == (3, "Error: workflow 'nope' not found\n")


def test_list_prints_the_newest_run_first(cli, api):
    first = api.runs.start("three_noops")
    second = api.runs.start("three_noops")
    result = cli("runs", "list", "--workflow", "three_noops", "--json")
    assert [r["id"] for r in json.loads(result.stdout)] == [second["id"], first["id"]]


def test_history_prints_the_runs_transitions_oldest_first(cli, api):
    run = api.runs.start("three_noops")
    api.runs.wait(run["id"], timeout=15)
    result = cli("runs", "history", run["id"])
    assert result.exit_code == 0
    table = [line.split() for line in result.stdout.splitlines()]
    assert table[0] == ["SEQ", "AT", "EVENT", "SOURCE", "DEST", "DATA"]
    assert table[-1][5] == "succeeded"
    later = json.loads(cli("runs", "history", run["id"], "--since", "1", "--json").stdout)
    assert [r["seq"] for r in later] == list(range(2, len(table)))


def test_diagram_prints_the_runs_mermaid_text(cli, api, helper):
    run = asking(api)
    result = cli("runs", "diagram", run["id"])
    assert result.exit_code == 0
    assert "stateDiagram-v2" in result.stdout.splitlines()
    assert json.loads(cli("runs", "diagram", run["id"], "--json").stdout)["mermaid"] == (
        api.runs.diagram(run["id"])
    )


def test_complete_reports_the_agents_step_done(cli, api, helper):
    run = asking(api)
    result = cli("runs", "complete", run["id"], "ask", "--output", '{"answer": 42}')
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"run {run['id']} step ask completed; run is now ")
    done = api.runs.wait(run["id"], timeout=15)
    assert done["state"] == "succeeded"
    assert done["steps"][1]["output"] == {"answer": 42}


def test_fail_reports_the_agents_step_failed_with_an_error_name(cli, api, helper):
    run = asking(api)
    result = cli("runs", "fail", run["id"], "ask", "--error", "Agent.Gave_Up", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"]["id"] == run["id"]
    failed = api.runs.wait(run["id"], timeout=15)
    assert (failed["state"], failed["error"]["name"]) == ("failed", "Agent.Gave_Up")


def test_complete_of_a_step_that_does_not_wait_exits_4(cli, api, helper):
    run = asking(api)
    assert cli("runs", "complete", run["id"], "prepare").exit_code == 4
