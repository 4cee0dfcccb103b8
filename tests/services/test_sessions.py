"""Sessions belong to an agent, run on `session.yaml`, and close when their agent ends."""

from __future__ import annotations

import pytest

from opscore.errors import AgentEnded, SessionNotFound


@pytest.fixture
def agent(core):
    return core.agents.register(name="worker")


def test_open_session_starts_waiting_for_its_agent(core, agent):
    session = core.sessions.open(agent.id, metadata={"topic": "billing"})
    assert (session.kind, session.machine, session.state, session.agent_id) == (
        "session",
        "session",
        "waiting",
        agent.id,
    )
    assert core.sessions.get(session.id) == session


def test_session_events_move_it_and_are_recorded(core, agent):
    session = core.sessions.open(agent.id)
    core.sessions.fire_event(session.id, "start")
    fired = core.sessions.fire_event(session.id, "fail", {"error": "model overloaded"})
    assert (fired.instance.state, fired.instance.context["last_error"]) == (
        "failed",
        "model overloaded",
    )
    assert [r.event for r in core.sessions.history(session.id).items] == ["start", "fail"]


def test_list_for_agent_returns_only_its_sessions(core, agent):
    other = core.agents.register()
    mine = [core.sessions.open(agent.id) for _ in range(3)]
    core.sessions.open(other.id)
    page = core.sessions.list_for_agent(agent.id, limit=2)
    assert (page.total, [s.id for s in page.items]) == (3, [s.id for s in mine[:2]])


def test_terminating_the_agent_closes_its_open_sessions(core, agent):
    open_one = core.sessions.open(agent.id)
    busy = core.sessions.open(agent.id)
    core.sessions.fire_event(busy.id, "start")
    done = core.sessions.open(agent.id)
    core.sessions.fire_event(done.id, "close")
    core.agents.fire_event(agent.id, "terminate")
    for session in (open_one, busy):
        assert core.sessions.get(session.id).state == "closed"
        last = core.sessions.history(session.id).items[-1]
        assert (last.event, last.data) == ("close", {"reason": "agent terminate"})
    assert core.sessions.history(done.id).total == 1


def test_terminated_agent_cannot_open_a_session(core, agent):
    core.agents.fire_event(agent.id, "terminate")
    with pytest.raises(AgentEnded, match="terminated"):
        core.sessions.open(agent.id)


def test_unknown_session_raises_session_not_found(core):
    with pytest.raises(SessionNotFound):
        core.sessions.fire_event("nope", "start")
