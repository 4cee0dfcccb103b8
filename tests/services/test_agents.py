"""Agent lifecycle service: register, list, fire events, history, deregister."""

from __future__ import annotations

import pytest

from opscore.errors import (
    AgentNotFound,
    AlreadyExists,
    EventNotAllowed,
    GuardRefused,
    InvalidRequest,
    MachineNotFound,
    PreconditionFailed,
)
from opscore.model import Query


def test_register_generates_an_id_and_starts_in_the_initial_state(core):
    agent = core.agents.register(name="writer", capabilities=["summarize"], metadata={"team": "a"})
    assert len(agent.id) == 32
    assert (agent.state, agent.machine, agent.version, agent.revision) == ("idle", "agent", 1, 1)
    assert (agent.name, agent.capabilities, agent.metadata) == (
        "writer",
        ("summarize",),
        {"team": "a"},
    )
    assert core.agents.get(agent.id) == agent


def test_register_with_a_taken_id_raises_already_exists(core):
    core.agents.register(agent_id="a-1")
    with pytest.raises(AlreadyExists, match="agent 'a-1' already exists"):
        core.agents.register(agent_id="a-1")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"agent_id": "has space"}, "id"),
        ({"name": "x" * 201}, "name"),
        ({"capabilities": ["ok", "not ok"]}, "capabilities"),
        ({"capabilities": "summarize"}, "capabilities"),
        ({"metadata": {"blob": "x" * 70_000}}, "metadata"),
        (
            {"metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {}}}}}}}}}}}},
            "metadata",
        ),
        ({"machine": "session"}, "machine"),
    ],
)
def test_register_rejects_bad_input_and_stores_nothing(core, kwargs, field):
    with pytest.raises(InvalidRequest) as caught:
        core.agents.register(**kwargs)
    assert caught.value.field == field
    assert core.agents.list().total == 0


@pytest.mark.parametrize("name", ["nul\x00", "lone \ud800 surrogate", "tab\there"])
def test_register_refuses_a_name_a_sql_store_cannot_keep_and_stores_nothing(core, name):
    # PostgreSQL refuses NUL in text and neither SQL store encodes a lone surrogate:
    # such a name was a 500 there.
    with pytest.raises(InvalidRequest, match="must be printable text"):
        core.agents.register(name=name)
    assert core.agents.list().total == 0


def test_register_with_unknown_machine_raises_machine_not_found(core):
    with pytest.raises(MachineNotFound):
        core.agents.register(machine="robot")


def test_unknown_agent_raises_agent_not_found(core):
    with pytest.raises(AgentNotFound, match="agent 'nope' not found"):
        core.agents.fire_event("nope", "activate")


def test_fire_event_commits_state_revision_and_history(core):
    agent = core.agents.register()
    fired = core.agents.fire_event(agent.id, "activate", {"task": "t1"})
    assert (fired.previous.state, fired.instance.state, fired.instance.revision) == (
        "idle",
        "active",
        2,
    )
    assert core.agents.get(agent.id) == fired.instance
    [record] = core.agents.history(agent.id).items
    assert (record.seq, record.event, record.source, record.dest, record.data) == (
        1,
        "activate",
        "idle",
        "active",
        {"task": "t1"},
    )


def test_rejected_event_changes_nothing(core):
    agent = core.agents.register()
    with pytest.raises(EventNotAllowed) as caught:
        core.agents.fire_event(agent.id, "complete")
    assert caught.value.allowed_events == ["activate", "fail", "terminate"]
    assert core.agents.get(agent.id) == agent
    assert core.agents.history(agent.id).total == 0


def test_if_match_with_a_stale_etag_fails_and_changes_nothing(core):
    agent = core.agents.register()
    stale = agent.etag
    core.agents.fire_event(agent.id, "activate", if_match={stale})
    with pytest.raises(PreconditionFailed):
        core.agents.fire_event(agent.id, "complete", if_match={stale})
    assert core.agents.get(agent.id).state == "active"


def test_failures_count_until_recover_is_refused_and_reset_needs_a_reason(core):
    agent = core.agents.register(metadata={"max_failures": 2})
    for _ in range(2):
        core.agents.fire_event(agent.id, "fail", {"error": "timeout"})
        assert core.agents.get(agent.id).context["last_error"] == "timeout"
        if core.agents.get(agent.id).context["failures"] < 2:
            core.agents.fire_event(agent.id, "recover")
    with pytest.raises(GuardRefused):
        core.agents.fire_event(agent.id, "recover")
    with pytest.raises(GuardRefused):
        core.agents.fire_event(agent.id, "reset", {})
    reset = core.agents.fire_event(agent.id, "reset", {"reason": "fixed the API key"})
    assert reset.instance.state == "idle"
    assert reset.instance.context == {"failures": 0}


def test_list_filters_by_state_machine_and_capability_with_paging(core):
    agents = [
        core.agents.register(name=f"a{i}", capabilities=["x"] if i % 2 else []) for i in range(5)
    ]
    core.agents.fire_event(agents[0].id, "activate")
    assert [a.id for a in core.agents.list(Query(state="active")).items] == [agents[0].id]
    with_x = core.agents.list(Query(capability="x"))
    assert (with_x.total, [a.name for a in with_x.items]) == (2, ["a1", "a3"])
    page = core.agents.list(Query(machine="agent", offset=1, limit=2))
    assert (page.total, [a.name for a in page.items]) == (5, ["a1", "a2"])


def test_history_is_capped_and_keeps_counting_sequence_numbers(core):
    agent = core.agents.register()
    for _ in range(30):
        core.agents.fire_event(agent.id, "activate")
        core.agents.fire_event(agent.id, "complete")
    history = core.agents.history(agent.id, limit=1000)
    assert history.total == core.store.history_cap == 50
    assert [r.seq for r in history.items] == list(range(11, 61))
    assert [r.seq for r in core.agents.history(agent.id, since_seq=58).items] == [59, 60]


def test_deregister_removes_the_agent_and_its_sessions(core):
    agent = core.agents.register()
    session = core.sessions.open(agent.id)
    core.agents.deregister(agent.id)
    with pytest.raises(AgentNotFound):
        core.agents.get(agent.id)
    assert core.sessions.lifecycle.find("session", Query()).total == 0
    with pytest.raises(Exception, match=session.id):
        core.sessions.get(session.id)


def test_recover_ignores_a_max_failures_that_is_not_an_integer(core):
    agent = core.agents.register(metadata={"max_failures": "lots"})
    core.agents.fire_event(agent.id, "fail")
    assert core.agents.fire_event(agent.id, "recover").instance.state == "idle"
