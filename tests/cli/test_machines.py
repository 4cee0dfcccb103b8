"""`opscore machines check|show|diagram` on the shipped and test definitions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from opscore.cli import main
from tests.support.constants import MACHINES, ROOT, TEST_MACHINES


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_check_of_the_shipped_machines_exits_0_with_a_one_line_summary():
    result = run("machines", "check", str(MACHINES))
    assert (result.exit_code, result.output) == (0, "5 definitions OK, 0 warnings\n")


def test_check_takes_the_folder_as_dir_like_show_and_diagram():
    result = run("machines", "check", "--dir", str(MACHINES))
    assert (result.exit_code, result.output) == (0, "5 definitions OK, 0 warnings\n")


def test_check_json_lists_the_count_and_every_problem():
    result = run("machines", "check", "--json", str(TEST_MACHINES / "warnings"))
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert (body["ok"], body["definitions"]) == (True, 1)
    assert [p["severity"] for p in body["problems"]] == ["warning"]


def test_check_json_of_an_invalid_file_is_not_ok_and_exits_1():
    bad = TEST_MACHINES / "invalid" / "unknown_dest.yaml"
    result = run("machines", "check", "--json", str(bad))
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert (body["ok"], body["definitions"]) == (False, 0)
    assert [p["text"] for p in body["problems"]] == [
        f"{bad}:13: transitions[0].dest: unknown state 'actve'"
    ]


def test_check_prints_warnings_but_exits_0():
    result = run("machines", "check", str(TEST_MACHINES / "warnings"))
    assert result.exit_code == 0
    assert "warning: state 'stuck' is not final and has no way out" in result.output
    assert result.output.endswith("\n1 definition OK, 1 warning\n")


def test_check_defaults_to_the_machines_dir_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPSCORE_MACHINES_DIR", str(TEST_MACHINES / "invalid"))
    assert run("machines", "check").exit_code == 1


def test_console_script_is_installed_and_checks_a_file():
    bad = TEST_MACHINES / "invalid" / "unknown_dest.yaml"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "opscore"), "machines", "check", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == f"{bad}:13: transitions[0].dest: unknown state 'actve'\n"


def test_show_prints_states_and_transitions_tables():
    result = run("machines", "show", "agent", "--dir", str(MACHINES))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("agent v1 (agent) sha256:")
    assert any(line.split()[:3] == ["idle", "(initial)", "Registered"] for line in lines)
    assert any(line.split()[:2] == ["terminated", "yes"] for line in lines)
    assert any(line.split() == ["pause", "active", "paused"] for line in lines)


def test_show_unknown_machine_exits_3_with_a_message():
    result = run("machines", "show", "robot", "--dir", str(MACHINES))
    assert (result.exit_code, result.output) == (3, "Error: machine 'robot' not found\n")


def test_diagram_of_an_unknown_machine_exits_3():
    assert run("machines", "diagram", "robot", "--dir", str(MACHINES)).exit_code == 3


def test_show_json_is_the_definition_as_the_api_shows_it():
    result = run("machines", "show", "agent", "--json", "--dir", str(MACHINES))
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert (body["name"], body["version"], body["versions"]) == ("agent", 1, [1])
    assert (body["initial"], body["states"][0]["name"]) == ("idle", "idle")
    assert body["transitions"][0]["trigger"] == "activate"


def test_diagram_json_carries_the_mermaid_text():
    result = run(
        "machines", "diagram", "agent", "--json", "--state", "paused", "--dir", str(MACHINES)
    )
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert (body["name"], body["version"], body["state"]) == ("agent", 1, "paused")
    assert "class paused s_active" in body["mermaid"]


def test_diagram_is_mermaid_with_the_given_state_highlighted():
    result = run("machines", "diagram", "agent", "--state", "paused", "--dir", str(MACHINES))
    assert result.exit_code == 0
    text = result.output
    assert "stateDiagram-v2" in text
    assert "class paused s_active" in text
    assert "class idle s_default" in text
    assert "terminated --> [*]" in text
    assert "Class " not in text
    assert "  active --> paused: pause" in text


def test_diagram_of_an_unknown_state_is_refused():
    result = run("machines", "diagram", "agent", "--state", "flying", "--dir", str(MACHINES))
    assert (result.exit_code, result.output) == (
        2,
        "Error: machine 'agent' has no state 'flying'\n",
    )
