"""`opscore machines validate FILE` and `reload` ask a running service."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from click.testing import CliRunner

from opscore.api import create_app
from opscore.cli import main
from opscore.core import OpsCore
from opscore.logs import configure_logging
from opscore.store import MemoryStore
from tests.support.constants import API_KEY, MACHINES, TEST_MACHINES
from tests.support.service import serve, stop


@pytest.fixture
def folder(tmp_path):
    """The service's machines folder: a copy of the shipped one."""
    shutil.copytree(MACHINES, tmp_path / "machines")
    return tmp_path / "machines"


@pytest.fixture
def cli(folder, callbacks, monkeypatch):
    """`opscore ...` against a service that loads `folder`."""
    core = OpsCore.from_paths([folder], MemoryStore(), callbacks)
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)
    configure_logging("WARNING", "text", stream=io.StringIO())
    url, handle = serve(app)
    monkeypatch.setenv("OPSCORE_URL", url)
    monkeypatch.setenv("OPSCORE_API_KEY", API_KEY)
    yield lambda *args: CliRunner().invoke(main, list(args))
    stop(handle)


def test_validate_of_an_invalid_file_prints_its_problems_and_exits_1(cli):
    bad = TEST_MACHINES / "invalid" / "unknown_dest.yaml"
    result = cli("machines", "validate", str(bad))
    assert (result.exit_code, result.output) == (
        1,
        f"{bad}:13: transitions[0].dest: unknown state 'actve'\n",
    )


def test_validate_of_a_valid_json_file_names_the_machine(cli):
    good = TEST_MACHINES / "valid" / "chat.json"
    result = cli("machines", "validate", str(good))
    assert (result.exit_code, result.output) == (0, f"{good}: chat v2 is valid\n")


def test_validate_json_is_the_services_answer(cli):
    result = cli("machines", "validate", "--json", str(TEST_MACHINES / "valid" / "switch.yaml"))
    body = json.loads(result.output)
    assert (result.exit_code, body["valid"], body["machine"]["name"]) == (0, True, "switch")


def test_reload_prints_the_versions_the_service_added(cli, folder):
    agent = (folder / "agent.yaml").read_text()
    (folder / "agent_v2.yaml").write_text(agent.replace("version: 1", "version: 2"))
    assert cli("machines", "reload").output == "added: agent v2\n"
    assert json.loads(cli("machines", "reload", "--json").output) == {"added": [], "warnings": []}


def test_reload_of_an_invalid_folder_exits_2_naming_the_problem(cli, folder):
    shutil.copy(TEST_MACHINES / "invalid" / "unknown_dest.yaml", folder)
    result = cli("machines", "reload")
    assert result.exit_code == 2
    assert "unknown state 'actve'" in result.stderr


def test_put_stores_a_file_as_a_new_version_and_versions_lists_it(cli, tmp_path):
    agent = (MACHINES / "agent.yaml").read_text().replace("version: 1", "version: 2")
    (tmp_path / "agent.yaml").write_text(agent)
    stored = cli("machines", "put", str(tmp_path / "agent.yaml"))
    assert (stored.exit_code, stored.output) == (0, "agent v2 stored; versions: [1, 2]\n")
    lines = cli("machines", "versions", "agent").output.splitlines()
    assert lines[0].split() == ["VERSION", "RETIRED", "INSTANCES", "HASH"]
    assert [line.split()[:2] for line in lines[1:]] == [["1", "0"], ["2", "0"]]


def test_put_of_a_version_that_does_not_grow_exits_2_naming_the_problem(cli, tmp_path):
    (tmp_path / "agent.yaml").write_text(
        (MACHINES / "agent.yaml").read_text().replace("Working on a task.", "Busy.")
    )
    result = cli("machines", "put", str(tmp_path / "agent.yaml"))
    assert result.exit_code == 2
    assert "version 1 is already loaded" in result.stderr


def test_retire_marks_the_version_retired(cli):
    result = cli("machines", "retire", "session", "1")
    assert (result.exit_code, result.output) == (0, "session v1 retired (0 instances go on)\n")
    listed = json.loads(cli("machines", "versions", "session", "--json").output)
    assert [(v["version"], v["retired"]) for v in listed] == [(1, True)]


def test_versions_of_an_unknown_machine_exits_3(cli):
    assert cli("machines", "versions", "robot").exit_code == 3
