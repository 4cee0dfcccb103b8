"""Stored definitions on every backend: a version is kept once, every change raises the
generation, and two cores on one store see each other's versions within SYNC_EVERY."""

from __future__ import annotations

import pytest

from opscore.callbacks import builtin_callbacks
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from opscore.services.definition_sync import SYNC_EVERY
from opscore.store.definitions import StoredDefinition
from tests.support.backends import close_store, make_store
from tests.support.constants import MACHINES

AGENT_V2 = (MACHINES / "agent.yaml").read_text().replace("version: 1", "version: 2")


def stored(version=1, content_hash="h1", text="kind: agent"):
    return StoredDefinition("bot", version, "agent", content_hash, text, "bot.yaml", 1.0)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(backend, clock):
    store = make_store(backend, clock)
    yield store
    close_store(store)


def test_a_version_is_kept_once_and_the_first_content_wins(store):
    first = store.definitions.put(stored())
    again = store.definitions.put(stored(content_hash="h2"))
    assert (first.content_hash, again.content_hash) == ("h1", "h1")
    assert [d.key for d in store.definitions.stored()] == [("bot", 1)]


def test_every_change_raises_the_generation_and_a_repeat_does_not(store):
    start = store.definitions.generation()
    store.definitions.put(stored())
    after_put = store.definitions.generation()
    store.definitions.put(stored())
    store.definitions.retire("bot", 1)
    after_retire = store.definitions.generation()
    store.definitions.retire("bot", 1)
    assert (after_put, after_retire, store.definitions.generation()) == (
        start + 1,
        start + 2,
        start + 2,
    )


def test_retiring_marks_the_version_and_an_unknown_one_is_none(store):
    store.definitions.put(stored())
    assert store.definitions.retire("bot", 1).retired is True
    assert store.definitions.stored()[0].retired is True
    assert store.definitions.retire("bot", 9) is None


def test_instances_are_counted_by_version(store, clock, callbacks):
    core = OpsCore.from_paths([MACHINES], store, callbacks, clock=clock)
    core.agents.register(agent_id="a1")
    core.agents.register(agent_id="a2")
    assert store.count_by_version("agent") == {1: 2}


def test_a_core_serves_what_another_core_stored_once_sync_every_has_passed(store, clock, backend):
    if backend == "memory://":
        pytest.skip("a memory store belongs to one process")
    one = OpsCore.from_paths([MACHINES], store, builtin_callbacks(), clock=clock)
    other = OpsCore(DefinitionRegistry(), store, builtin_callbacks(), clock=clock)
    other.definition_service.sync(now=True)
    one.definition_service.put("agent", AGENT_V2, "agent.yaml")
    assert other.definition_service.versions("agent") == [1]  # checked less than a bound ago
    clock.advance(SYNC_EVERY)
    assert other.definition_service.versions("agent") == [1, 2]


def test_a_core_meeting_an_unknown_version_looks_in_the_store_at_once(store, clock, backend):
    if backend == "memory://":
        pytest.skip("a memory store belongs to one process")
    one = OpsCore.from_paths([MACHINES], store, builtin_callbacks(), clock=clock)
    other = OpsCore(DefinitionRegistry(), store, builtin_callbacks(), clock=clock)
    other.definition_service.sync(now=True)
    one.definition_service.put("agent", AGENT_V2, "agent.yaml")
    assert other.definitions.get("agent", 2).version == 2
