"""A `workflow:` step names another template: one that does not exist, is not a workflow,
or leads back to the template itself is refused when the folder loads, at its place."""

from __future__ import annotations

import pytest

from opscore.definitions import DefinitionRegistry
from opscore.definitions.problems import DefinitionError
from tests.support.constants import MACHINES

CALLER = """kind: workflow
name: {name}
version: 1
start: call
steps:
  call:
    workflow: {child}
    next: succeeded
"""


def write(folder, name, child):
    path = folder / f"{name}.yaml"
    path.write_text(CALLER.format(name=name, child=child))
    return path


def problems_loading(callbacks, *paths):
    with pytest.raises(DefinitionError) as refused:
        DefinitionRegistry().load([MACHINES, *paths], callbacks)
    return [str(p) for p in refused.value.problems]


def test_a_child_workflow_that_does_not_exist_is_reported_at_its_workflow_field(
    callbacks, tmp_path
):
    path = write(tmp_path, "caller", "nowhere")
    assert problems_loading(callbacks, path) == [
        f"{path}:7: steps.call.workflow: unknown workflow 'nowhere'"
    ]


def test_a_child_that_is_an_agent_machine_is_refused(callbacks, tmp_path):
    path = write(tmp_path, "caller", "agent")
    assert problems_loading(callbacks, path) == [
        f"{path}:7: steps.call.workflow: 'agent' is a machine of kind 'agent', not a workflow"
    ]


def test_templates_that_start_each_other_are_refused_with_the_loop(callbacks, tmp_path):
    first = write(tmp_path, "ping", "pong")
    second = write(tmp_path, "pong", "ping")
    assert problems_loading(callbacks, first, second) == [
        f"{first}:7: steps.call.workflow: workflow 'ping' starts itself: ping -> pong -> ping",
        f"{second}:7: steps.call.workflow: workflow 'pong' starts itself: pong -> ping -> pong",
    ]


def test_a_child_workflow_loaded_beside_its_parent_is_accepted(callbacks, tmp_path):
    write(tmp_path, "caller", "fetch_report")
    registry = DefinitionRegistry()
    assert registry.load([MACHINES, tmp_path], callbacks) == []
    assert registry.get("caller").workflow.children == {"steps.call.workflow": ("fetch_report", 7)}
