"""`opscore agents ...` against a real service: tables, --json, connection options, exit codes."""

from __future__ import annotations

import json

import pytest

from tests.support.constants import API_KEY
from tests.support.service import Fault
from tests.support.upgrades import AGENT_V2


@pytest.fixture
def agents(api):
    """Two agents: `a1` (named Writer) active with capability `summarize`, `a2` idle."""
    api.agents.register("a1", name="Writer", capabilities=["summarize", "translate"])
    api.agents.register("a2")
    api.agents.send_event("a1", "activate")
    return api


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def test_list_prints_a_table_with_one_row_per_agent_newest_first_with_its_name(cli, agents):
    result = cli("agents", "list")
    assert result.exit_code == 0
    table = rows(result.stdout)
    assert table[0] == ["ID", "NAME", "STATE", "MACHINE", "CAPABILITIES", "UPDATED"]
    assert table[1][:6] == ["a2", "-", "idle", "agent", "v1", "-"]
    assert table[2][:7] == ["a1", "Writer", "active", "agent", "v1", "summarize,", "translate"]
    assert len(table) == 3


def test_list_json_prints_the_agents_as_the_api_answers_them(cli, agents):
    result = cli("agents", "list", "--json", "--state", "idle")
    assert result.exit_code == 0
    [agent] = json.loads(result.stdout)
    assert (agent["id"], agent["state"], agent["allowed_events"]) == (
        "a2",
        "idle",
        ["activate", "fail", "terminate"],
    )


def test_list_of_one_page_among_several_says_so_on_stderr(cli, agents):
    result = cli("agents", "list", "--page-size", "1")
    assert [row[0] for row in rows(result.stdout)] == ["ID", "a2"]
    assert result.stderr == ("page 1 of 2 (2 agents); --page N for another, --all for every page\n")


def test_list_all_fetches_every_page_newest_first(cli, agents):
    result = cli("agents", "list", "--page-size", "1", "--all", "--json")
    assert [a["id"] for a in json.loads(result.stdout)] == ["a2", "a1"]


def test_list_page_two_counts_from_the_newest(cli, agents):
    agents.agents.register("a3")
    result = cli("agents", "list", "--page-size", "2", "--page", "2", "--json")
    assert [a["id"] for a in json.loads(result.stdout)] == ["a2", "a1"]
    newest = cli("agents", "list", "--page-size", "2", "--json")
    assert [a["id"] for a in json.loads(newest.stdout)] == ["a3"]
    assert result.stderr == ""


def test_list_filters_by_capability(cli, agents):
    result = cli("agents", "list", "--capability", "translate", "--json")
    assert [a["id"] for a in json.loads(result.stdout)] == ["a1"]


def test_show_prints_the_agents_fields(cli, agents):
    result = cli("agents", "show", "a1")
    assert result.exit_code == 0
    fields = {row[0]: row[1:] for row in rows(result.stdout)}
    assert fields["state"] == ["active"]
    assert fields["allowed"] == ["events", "complete,", "pause,", "fail,", "terminate"]
    assert fields["etag"] == [agents.agents.get("a1").etag]


def test_show_json_prints_the_agent(cli, agents):
    result = cli("agents", "show", "a2", "--json")
    assert json.loads(result.stdout) == agents.agents.get("a2")


def test_show_of_an_unknown_agent_exits_3(cli, agents):
    result = cli("agents", "show", "ghost")
    assert (result.exit_code, result.stderr) == (3, "Error: agent 'ghost' not found\n")


def test_history_prints_the_transitions_oldest_first(cli, agents):
    agents.agents.send_event("a1", "complete", {"result": "done"})
    result = cli("agents", "history", "a1")
    assert result.exit_code == 0
    table = rows(result.stdout)
    assert table[0] == ["SEQ", "AT", "EVENT", "SOURCE", "DEST", "DATA"]
    assert [row[0] for row in table[1:]] == ["1", "2"]
    assert table[2][3:] == ["complete", "active", "idle", '{"result":"done"}']


def test_history_since_json_prints_only_later_records(cli, agents):
    agents.agents.send_event("a1", "complete")
    result = cli("agents", "history", "a1", "--since", "1", "--json")
    assert [r["event"] for r in json.loads(result.stdout)] == ["complete"]


def test_send_event_prints_the_transition(cli, agents):
    result = cli("agents", "send-event", "a2", "activate", "--data", '{"task": "report"}')
    assert (result.exit_code, result.stdout) == (0, "a2 activate: idle -> active (seq 1)\n")
    assert agents.agents.history("a2").items[0]["data"] == {"task": "report"}


def test_send_event_json_prints_the_agent_and_the_transition(cli, agents):
    result = cli("agents", "send-event", "a2", "activate", "--json")
    answer = json.loads(result.stdout)
    assert (answer["agent"]["state"], answer["transition"]["dest"]) == ("active", "active")


def test_send_event_reads_data_from_stdin(cli, agents):
    result = cli("agents", "send-event", "a2", "fail", "--data", "-", input='{"error": "oom"}')
    assert result.exit_code == 0
    assert agents.agents.get("a2")["context"]["last_error"] == "oom"


def test_send_event_not_allowed_exits_4_listing_the_allowed_events(cli, agents):
    result = cli("agents", "send-event", "a1", "resume")
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: event 'resume' is not allowed in state 'active'; "
        "allowed: complete, pause, fail, terminate\n"
    )


def test_send_event_with_a_stale_if_match_exits_4_and_changes_nothing(cli, agents):
    stale = agents.agents.get("a2").etag
    agents.agents.send_event("a2", "activate")
    result = cli("agents", "send-event", "a2", "pause", "--if-match", stale)
    assert result.exit_code == 4
    assert "does not match If-Match" in result.stderr
    assert agents.agents.get("a2")["state"] == "active"


def test_send_event_of_an_unknown_event_exits_2(cli, agents):
    result = cli("agents", "send-event", "a1", "fly")
    assert (result.exit_code, result.stderr) == (2, "Error: machine 'agent' has no event 'fly'\n")


def test_send_event_with_data_that_is_not_json_is_a_usage_error(cli, agents):
    result = cli("agents", "send-event", "a1", "pause", "--data", "{oops")
    assert result.exit_code == 2
    assert "Invalid value for --data: not valid JSON" in result.stderr


def test_a_wrong_api_key_exits_5_and_says_how_to_set_one(cli, agents):
    result = cli("agents", "list", "--api-key", "wrong")
    assert result.exit_code == 5
    assert "(set OPSCORE_API_KEY or pass --api-key)" in result.stderr


def test_an_unreachable_service_exits_6(cli, sleeps):
    result = cli("agents", "list", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: cannot connect to http://127.0.0.1:9: ")
    assert sleeps == [0.2, 0.4, 0.8]


def test_a_failing_service_exits_6(cli, proxy):
    proxy.faults.extend(Fault("GET", "answer", 500) for _ in range(4))
    result = cli("agents", "list", "--url", proxy.url)
    assert (result.exit_code, result.stderr) == (6, "Error: 500 Internal Server Error\n")


def test_url_and_key_given_to_the_group_override_the_environment(cli, server_url, monkeypatch):
    monkeypatch.setenv("OPSCORE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("OPSCORE_API_KEY")
    result = cli("agents", "--url", server_url, "--api-key", API_KEY, "list", "--json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")


def test_url_given_after_the_subcommand_overrides_the_groups(cli, server_url):
    result = cli("agents", "--url", "http://127.0.0.1:9", "list", "--url", server_url, "--json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")


def test_a_url_that_is_not_http_is_a_usage_error(cli):
    result = cli("agents", "list", "--url", "ftp://example.com")
    assert result.exit_code == 2
    assert "the Ops-Core URL must be http:// or https://" in result.stderr


def test_register_prints_the_new_agent_and_json_answers_it(cli, api):
    result = cli("agents", "register", "w1", "--name", "Writer", "--capability", "summarize")
    assert (result.exit_code, result.stdout) == (0, "agent w1 registered: agent v1, state idle\n")
    agent = api.agents.get("w1")
    assert (agent["name"], agent["capabilities"]) == ("Writer", ["summarize"])
    generated = json.loads(
        cli("agents", "register", "--metadata", '{"team": "ops"}', "--json").stdout
    )
    assert api.agents.get(generated["id"])["metadata"] == {"team": "ops"}


def test_register_of_a_taken_id_exits_4(cli, agents):
    result = cli("agents", "register", "a1")
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: ")


def test_delete_removes_the_agent(cli, agents):
    result = cli("agents", "delete", "a2")
    assert (result.exit_code, result.stdout) == (0, "agent a2 deleted\n")
    assert cli("agents", "show", "a2").exit_code == 3
    assert json.loads(cli("agents", "delete", "a1", "--json").stdout) == {
        "id": "a1",
        "deleted": True,
    }


def test_a_422_message_is_printed_once(cli, agents):
    result = cli("agents", "history", "a1", "--since", str(2**63))
    assert result.exit_code == 2
    assert result.stderr.count("must be") == 1, result.stderr


def test_upgrade_prints_the_agents_move_to_the_new_version(cli, agents):
    agents.machines.put("agent", AGENT_V2)
    result = cli("agents", "upgrade", "a1", "--version", "2", "--state", "active=working")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("a1 (upgrade): active -> working (seq ")
    assert agents.agents.get("a1")["machine"] == {"name": "agent", "version": 2}
