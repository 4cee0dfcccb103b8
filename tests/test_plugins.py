"""Plugins reach every entry: entry points and OPSCORE_PLUGINS modules, for `opscore serve`,
the app, and `opscore machines check` alike."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from opscore.cli import main
from opscore.config import ConfigError, Settings
from opscore.core import OpsCore
from tests.support.constants import API_KEY
from tests.support.plugins import (
    CONDITION,
    SETTING_MODULE,
    TASK_TYPE,
    write_definitions,
    write_plugins,
)
from tests.support.polling import poll_until
from tests.support.servers import free_port, running_server

OPSCORE = str(Path(sys.executable).parent / "opscore")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """The plugin package, importable by this process."""
    site = write_plugins(tmp_path)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_plugins_setting_is_a_comma_separated_list_of_module_names():
    settings = Settings.from_env({"OPSCORE_PLUGINS": "acme.tasks, acme_callbacks"})
    assert settings.plugin_modules == ("acme.tasks", "acme_callbacks")


def test_plugins_setting_refuses_what_is_not_a_module_name():
    with pytest.raises(ConfigError, match="OPSCORE_PLUGINS='os; rm': 'os; rm' is not a module"):
        Settings.from_env({"OPSCORE_PLUGINS": "os; rm"})


def test_the_service_loads_a_callback_published_as_an_entry_point(site, tmp_path):
    folder = write_definitions(tmp_path / "defs", workflow=False)
    core = OpsCore.from_settings(Settings(machines_dir=str(folder), database_url="memory://"))
    assert core.definitions.get("ticketed").transitions[0].conditions == (CONDITION,)


def test_the_service_imports_the_modules_the_plugins_setting_names(site, tmp_path):
    folder = write_definitions(tmp_path / "defs")
    settings = Settings(machines_dir=str(folder), database_url="memory://", plugins=SETTING_MODULE)
    core = OpsCore.from_settings(settings)
    assert core.definitions.get("stamped").workflow is not None
    assert core.tasks.has_task_type(TASK_TYPE)


def test_a_plugin_module_that_cannot_be_imported_refuses_to_start(tmp_path):
    settings = Settings(
        machines_dir=str(tmp_path), database_url="memory://", plugins="no_such_plugin_module"
    )
    with pytest.raises(ConfigError, match="OPSCORE_PLUGINS: cannot import 'no_such_plugin_module'"):
        OpsCore.from_settings(settings)


def test_machines_check_loads_the_same_plugins_as_the_service(site, tmp_path, monkeypatch):
    folder = write_definitions(tmp_path / "defs")
    monkeypatch.setenv("OPSCORE_PLUGINS", SETTING_MODULE)
    result = CliRunner().invoke(main, ["machines", "check", str(folder)])
    assert (result.exit_code, result.output) == (0, "2 definitions OK, 0 warnings\n")


def test_opscore_serve_runs_a_step_of_a_plugin_task_type_and_a_plugin_condition(tmp_path):
    site = write_plugins(tmp_path)
    folder = write_definitions(tmp_path / "defs")
    port = free_port()
    env = {
        "PYTHONPATH": str(site),
        "OPSCORE_PLUGINS": SETTING_MODULE,
        "OPSCORE_MACHINES_DIR": str(folder),
        "OPSCORE_DATABASE_URL": "memory://",
        "OPSCORE_API_KEYS": API_KEY,
        "OPSCORE_PORT": str(port),
    }
    with running_server([OPSCORE, "serve"], env, port) as url:
        started = _post(f"{url}/v1/workflows/stamped/runs", {"input": {}})

        def finished():
            run = _get(f"{url}/v1/runs/{started['id']}")
            return run if run["state"] == "succeeded" else None

        run = poll_until(finished, what="the plugin task's run to succeed")
        _post(f"{url}/v1/agents", {"id": "t1", "machine": "ticketed"})
        fired = _post(f"{url}/v1/agents/t1/events", {"event": "finish", "data": {"ticket": "T-1"}})
    assert run["output"] == {"stamped": True}
    assert fired["agent"]["state"] == "done"


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"X-API-Key": API_KEY})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
