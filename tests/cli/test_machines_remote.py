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
