"""`opscore sessions ...` against a real service: open, list, send-event, history, show."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def agent(api):
    """An active agent `a1`."""
    api.agents.register("a1")
    api.agents.send_event("a1", "activate")
    return "a1"


def test_open_prints_the_new_session(cli, api, agent):
    result = cli("sessions", "open", agent, "--metadata", '{"topic": "Q3"}')
    assert result.exit_code == 0, result.output
    words = result.stdout.split()
    assert (words[0], words[2:]) == (
        "session",
        ["opened", "for", "agent", "a1:", "state", "waiting"],
    )
    assert api.sessions.get(words[1])["metadata"] == {"topic": "Q3"}


def test_list_prints_the_agents_sessions_newest_first(cli, api, agent):
    first = api.sessions.open(agent)
    second = api.sessions.open(agent)
    result = cli("sessions", "list", agent)
    assert result.exit_code == 0
    table = [line.split() for line in result.stdout.splitlines()]
    assert table[0] == ["ID", "STATE", "MACHINE", "CREATED", "UPDATED"]
    assert [row[0] for row in table[1:]] == [second["id"], first["id"]]
    listed = json.loads(cli("sessions", "list", agent, "--json").stdout)
    assert [s["id"] for s in listed] == [second["id"], first["id"]]


def test_send_event_and_history_print_the_transitions(cli, api, agent):
    session = api.sessions.open(agent)
    allowed = session["allowed_events"][0]
    fired = cli("sessions", "send-event", session["id"], allowed, "--data", '{"n": 1}')
    assert fired.exit_code == 0, fired.output
    assert fired.stdout.startswith(f"{session['id']} {allowed}: waiting -> ")
    records = json.loads(cli("sessions", "history", session["id"], "--json").stdout)
    assert [(r["event"], r["data"]) for r in records][-1] == (allowed, {"n": 1})
    table = cli("sessions", "history", session["id"], "--since", "0").stdout.splitlines()
    assert table[0].split() == ["SEQ", "AT", "EVENT", "SOURCE", "DEST", "DATA"]


def test_show_of_an_unknown_session_exits_3(cli, agent):
    result = cli("sessions", "show", "ghost")
    assert (result.exit_code, result.stderr) == (3, "Error: session 'ghost' not found\n")


def test_open_for_an_unknown_agent_exits_3(cli):
    assert cli("sessions", "open", "ghost").exit_code == 3
