"""Lifecycle.transact's `committed` hook: what a writer leaves for the next one in this
process (the runs' ledger keeps the parsed state of the revision it committed)."""

from __future__ import annotations

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
