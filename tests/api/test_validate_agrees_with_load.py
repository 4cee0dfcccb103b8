"""One corpus of good and bad definitions, walked through `POST /v1/machines/validate` and
through loading: both find the same problems at the same places, and agree on validity."""

from __future__ import annotations

import pytest

from opscore.api import create_app
from opscore.callbacks import builtin_callbacks
from opscore.core import OpsCore
from opscore.definitions import DefinitionError, definition_files
from opscore.store import MemoryStore
from opscore.tasks.builtin import builtin_tasks
from tests.support.constants import API_KEY, AUTH, MACHINES, TEST_MACHINES

CORPUS = definition_files(
    [
        MACHINES,
        *(
            TEST_MACHINES / folder
            for folder in ("valid", "warnings", "workflows", "invalid", "invalid_workflows")
        ),
    ]
)


@pytest.fixture(scope="module")
def service():
    """A service over the shipped definitions, with its own callbacks and task types."""
    core = OpsCore.from_paths([MACHINES], MemoryStore(), builtin_callbacks(), builtin_tasks())
    return core, create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)


def loaded(core, file) -> tuple[bool, list[str]]:
    """Whether `file` loads beside the core's definitions, and its problems (then unloaded)."""
    trial = OpsCore.from_paths([MACHINES], MemoryStore(), core.engine.callbacks, core.tasks)
    try:
        warnings = trial.definition_service.load([file])
    except DefinitionError as error:
        return False, [str(p) for p in error.problems]
    return True, [str(p) for p in warnings]


def validated(app, file) -> tuple[bool, list[str]]:
    """What the validate endpoint answers for `file`'s bytes."""
    content_type = "application/json" if file.suffix == ".json" else "application/yaml"
    response = app.test_client().post(
        "/v1/machines/validate",
        query_string={"file": str(file)},
        data=file.read_bytes(),
        headers={**AUTH, "Content-Type": content_type},
    )
    if response.status_code == 422:
        return False, response.json["errors"]["body"]
    assert response.status_code == 200, response.json
    return response.json["valid"], [p["text"] for p in response.json["problems"]]


def test_the_corpus_has_good_and_bad_files_of_every_kind():
    names = {file.parent.name for file in CORPUS}
    assert {"valid", "invalid", "invalid_workflows", "workflows", "warnings"} <= names
    assert len(CORPUS) > 60


@pytest.mark.parametrize("file", CORPUS, ids=lambda f: f"{f.parent.name}/{f.name}")
def test_validate_and_load_agree_on_every_file_of_the_corpus(service, file):
    core, app = service
    assert validated(app, file) == loaded(core, file)
