"""Lifecycle.transact's `committed` hook: what a writer leaves for the next one in this
process (the runs' ledger keeps the parsed state of the revision it committed); and its
`guess`: a plan made on the instance as this process last committed it counts only if it
commits, otherwise the change is planned again on the stored instance."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from opscore.errors import EventNotAllowed
from opscore.model import Instance
from opscore.services.lifecycle import Fired, Plan


def test_committed_is_called_with_what_fired_while_the_instance_lock_is_still_held(core):
    agent = core.agents.register()
    lock = core.lifecycle.locks.of(agent.id)
    seen: list[tuple[int, str, bool]] = []

    def committed(fired: Fired) -> None:
        seen.append((fired.instance.revision, fired.instance.state, lock.locked()))

    fired = core.lifecycle.transact("agent", agent.id, lambda _: Plan("activate"), None, committed)

    assert seen == [(agent.revision + 1, "active", True)]
    assert fired is not None
    assert fired.instance.revision == agent.revision + 1


def test_committed_is_not_called_when_there_is_nothing_to_commit(core):
    agent = core.agents.register()
    seen: list[Fired] = []

    assert core.lifecycle.transact("agent", agent.id, lambda _: None, None, seen.append) is None
    assert seen == []


@pytest.fixture
def reads(core, monkeypatch) -> list[str]:
    """The ids of the instances read from the store from now on."""
    seen: list[str] = []
    read = core.lifecycle.store.get

    def counted(kind: str, instance_id: str):
        seen.append(instance_id)
        return read(kind, instance_id)

    monkeypatch.setattr(core.lifecycle.store, "get", counted)
    return seen


def _toggle(current: Instance) -> Plan:
    return Plan("activate" if current.state == "idle" else "complete")


def test_a_plan_on_a_current_guess_commits_without_reading_the_store(core, reads):
    agent = core.agents.register()

    fired = core.lifecycle.transact("agent", agent.id, _toggle, guess=lambda: agent)

    assert reads == []
    assert fired is not None
    assert fired.previous is agent
    assert core.agents.get(agent.id).state == "active"


def test_a_stale_guess_is_planned_again_on_the_stored_instance_and_commits_once(core, reads):
    agent = core.agents.register()
    core.agents.fire_event(agent.id, "activate")  # elsewhere: the guess below is behind
    reads.clear()
    planned_on: list[tuple[int, str]] = []

    def planner(current: Instance) -> Plan:
        planned_on.append((current.revision, current.state))
        return _toggle(current)

    fired = core.lifecycle.transact("agent", agent.id, planner, guess=lambda: agent)

    assert planned_on == [(agent.revision, "idle"), (agent.revision + 1, "active")]
    assert reads == [agent.id]
    assert fired is not None
    assert fired.record is not None
    assert (fired.record.event, fired.instance.state) == ("complete", "idle")
    history = core.agents.history(agent.id).items
    assert [record.event for record in history] == ["activate", "complete"]


def test_a_guess_the_planner_declines_is_planned_again_on_the_stored_instance(core, reads):
    agent = core.agents.register()
    core.agents.fire_event(agent.id, "activate")
    reads.clear()

    def only_when_active(current: Instance) -> Plan | None:
        return Plan("complete") if current.state == "active" else None

    fired = core.lifecycle.transact("agent", agent.id, only_when_active, guess=lambda: agent)

    assert reads == [agent.id]
    assert fired is not None
    assert fired.instance.state == "idle"


def test_an_event_the_guess_refuses_is_fired_on_the_stored_instance(core):
    agent = core.agents.register()
    core.agents.fire_event(agent.id, "activate")  # "complete" is allowed only from here

    fired = core.lifecycle.transact(
        "agent", agent.id, lambda _: Plan("complete"), guess=lambda: agent
    )

    assert fired is not None
    assert fired.instance.state == "idle"


def _rejections() -> float:
    labels = {"kind": "agent", "machine": "agent", "reason": "not_allowed"}
    return REGISTRY.get_sample_value("opscore_events_rejected_total", labels) or 0.0


def test_a_refusal_of_a_current_guess_stands_without_planning_it_again(core):
    agent = core.agents.register()
    planned_on: list[int] = []
    rejected = _rejections()

    def planner(current: Instance) -> Plan:
        planned_on.append(current.revision)
        return Plan("complete")  # not allowed from idle

    with pytest.raises(EventNotAllowed):
        core.lifecycle.transact("agent", agent.id, planner, guess=lambda: agent)

    assert planned_on == [agent.revision]
    assert _rejections() == rejected + 1
    assert core.agents.get(agent.id).revision == agent.revision
    assert core.agents.history(agent.id).items == []


def test_the_guess_is_taken_with_the_instances_lock_held(core):
    agent = core.agents.register()
    lock = core.lifecycle.locks.of(agent.id)
    held: list[bool] = []

    def guess() -> Instance:
        held.append(lock.locked())
        return agent

    core.lifecycle.transact("agent", agent.id, _toggle, guess=guess)

    assert held == [True]


def test_a_guess_of_another_instance_is_refused_before_anything_is_planned(core):
    agent, other = core.agents.register(), core.agents.register()
    planned: list[Instance] = []

    with pytest.raises(ValueError, match="a guess of agent"):
        core.lifecycle.transact("agent", agent.id, planned.append, guess=lambda: other)

    assert planned == []
    assert core.agents.get(other.id).revision == other.revision
