"""`DefinitionService`: validate answers what a load would, reload says what it added."""

from __future__ import annotations

import shutil

import pytest

from opscore.callbacks import builtin_callbacks
from opscore.definitions import DefinitionError, DefinitionRegistry
from opscore.errors import InvalidRequest, MachineNotFound
from opscore.services.definitions import DefinitionService
from opscore.tasks.builtin import builtin_tasks
from tests.support.constants import MACHINES, TEST_MACHINES

UNKNOWN_TASK = TEST_MACHINES / "invalid_workflows" / "unknown_task_type.yaml"


@pytest.fixture
def service(tmp_path):
    """A service over a copy of the shipped machines."""
    folder = tmp_path / "machines"
    shutil.copytree(MACHINES, folder)
    service = DefinitionService(
        DefinitionRegistry(), builtin_callbacks(), builtin_tasks(), [folder]
    )
    service.load()
    return service


def test_validate_reports_an_unknown_task_type_as_loading_does(service):
    result = service.validate(UNKNOWN_TASK.read_text(), "w.yaml")
    with pytest.raises(DefinitionError) as loading:
        service.load([UNKNOWN_TASK])
    assert result.definition is None
    assert [(p.line, p.path, p.message) for p in result.problems] == [
        (p.line, p.path, p.message) for p in loading.value.problems
    ]


def test_validate_reports_a_changed_version_that_loading_would_refuse(service):
    text = (MACHINES / "agent.yaml").read_text().replace("Working on a task.", "Busy.")
    result = service.validate(text, "agent.yaml")
    assert result.definition is None
    assert [(p.path, p.message.split(";")[0]) for p in result.problems] == [
        (
            "version",
            f"'agent' version 1 is already loaded from {service.paths[0]}/agent.yaml "
            "with different content",
        )
    ]


def test_validate_of_an_unknown_child_workflow_is_an_error(service):
    text = "kind: workflow\nname: parent\nversion: 1\nstart: a\nsteps:\n"
    text += "  a: {workflow: nosuch, next: succeeded}\n"
    result = service.validate(text, "parent.yaml")
    assert [(p.path, p.message) for p in result.problems] == [
        ("steps.a.workflow", "unknown workflow 'nosuch'")
    ]


def test_reload_answers_the_versions_it_added_then_nothing(service):
    text = (service.paths[0] / "agent.yaml").read_text().replace("version: 1", "version: 2")
    (service.paths[0] / "agent_v2.yaml").write_text(text)
    assert service.reload().added == [("agent", 2)]
    assert service.reload().added == []
    assert service.versions("agent") == [1, 2]


def test_reload_of_an_invalid_folder_adds_nothing(service):
    shutil.copy(TEST_MACHINES / "invalid" / "unknown_dest.yaml", service.paths[0])
    before = service.keys()
    with pytest.raises(DefinitionError):
        service.reload()
    assert service.keys() == before


def test_draw_of_a_state_the_machine_lacks_is_an_invalid_request(service):
    with pytest.raises(InvalidRequest, match="machine 'agent' has no state 'flying'"):
        service.draw("agent", state="flying")


def test_get_of_an_unknown_machine_is_machine_not_found(service):
    with pytest.raises(MachineNotFound):
        service.get("robot")
