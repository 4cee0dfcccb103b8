"""The registry keeps every version of a definition; instances pin the version they started with."""

from __future__ import annotations

import pytest

from opscore.definitions import DefinitionRegistry, load_text
from opscore.definitions.problems import DefinitionError
from opscore.errors import MachineNotFound
from tests.support.constants import MACHINES

AGENT_V2 = (
    (MACHINES / "agent.yaml")
    .read_text()
    .replace("version: 1", "version: 2")
    .replace(
        "  - trigger: complete\n    source: active\n    dest: idle\n",
        "  - trigger: complete\n    source: active\n    dest: paused\n",
    )
)


@pytest.fixture
def agent_v2(callbacks):
    return load_text(AGENT_V2, "agent_v2.yaml", callbacks).definition


def test_shipped_machines_load_without_problems(callbacks):
    registry = DefinitionRegistry()
    assert registry.load([MACHINES], callbacks) == []
    assert [d.name for d in registry.latest()] == [
        "agent",
        "fetch_report",
        "panel_review",
        "review_document",
        "session",
    ]


def test_new_version_is_added_beside_the_old_one(definitions, agent_v2):
    assert definitions.add(agent_v2) is None
    assert definitions.versions("agent") == [1, 2]
    assert definitions.get("agent").version == 2
    assert definitions.get("agent", 1).state("idle").name == "idle"


def test_same_version_with_different_content_is_refused(definitions, callbacks):
    changed = load_text(AGENT_V2.replace("version: 2", "version: 1"), "edited.yaml", callbacks)
    problem = definitions.add(changed.definition)
    assert str(problem) == (
        "edited.yaml:4: version: 'agent' version 1 is already loaded from "
        f"{MACHINES / 'agent.yaml'} with different content; raise `version`"
    )
    assert definitions.get("agent", 1).content_hash != changed.definition.content_hash


def test_same_name_and_version_in_two_files_is_an_error(tmp_path, callbacks):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text((MACHINES / "session.yaml").read_text())
    with pytest.raises(DefinitionError) as caught:
        DefinitionRegistry().load([tmp_path], callbacks)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'b.yaml'}:4: name: 'session' version 1 is also defined in "
        f"{tmp_path / 'a.yaml'}"
    ]


def test_unknown_machine_or_version_raises_machine_not_found(definitions):
    with pytest.raises(MachineNotFound, match="machine 'robot' not found"):
        definitions.get("robot")
    with pytest.raises(MachineNotFound, match="machine 'agent' version 9 not found"):
        definitions.get("agent", 9)


def test_agent_keeps_the_rules_of_the_version_it_started_with(core, agent_v2):
    old = core.agents.register(name="old")
    core.definitions.add(agent_v2)
    new = core.agents.register(name="new")
    for agent in (old, new):
        core.agents.fire_event(agent.id, "activate")
        core.agents.fire_event(agent.id, "complete")
    assert (core.agents.get(old.id).version, core.agents.get(old.id).state) == (1, "idle")
    assert (core.agents.get(new.id).version, core.agents.get(new.id).state) == (2, "paused")
