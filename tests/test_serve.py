"""`make run` serves the API; `opscore serve` refuses bad definitions and missing keys."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.constants import ROOT, TEST_MACHINES
from tests.support.polling import poll_until
from tests.support.servers import free_port, running_server

OPSCORE = str(Path(sys.executable).parent / "opscore")


def test_serve_refuses_to_start_naming_every_invalid_definition(tmp_path):
    for name in ("unknown_dest.yaml", "unknown_initial.yaml"):
        shutil.copy(TEST_MACHINES / "invalid" / name, tmp_path / name)
    result = subprocess.run(
        [OPSCORE, "serve", "--port", str(free_port())],
        env={"OPSCORE_MACHINES_DIR": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "refusing to start: invalid machine definitions",
        f"{tmp_path / 'unknown_dest.yaml'}:13: transitions[0].dest: unknown state 'actve'",
        f"{tmp_path / 'unknown_initial.yaml'}:4: initial: unknown state 'sleeping'",
    ]


def test_serve_refusing_to_start_leaves_no_metrics_folder_behind(tmp_path):
    shutil.copy(TEST_MACHINES / "invalid" / "unknown_dest.yaml", tmp_path / "bad.yaml")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = subprocess.run(
        [OPSCORE, "serve", "--port", str(free_port())],
        env={
            "OPSCORE_MACHINES_DIR": str(tmp_path),
            "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
            "TMPDIR": str(temporary),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert list(temporary.iterdir()) == []


def test_serve_removes_its_metrics_folder_when_it_stops(tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    env = {
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "OPSCORE_MIGRATE_ON_START": "true",
        "OPSCORE_PROCESSES": "2",
        "TMPDIR": str(temporary),
    }
    with running_server([OPSCORE, "serve", "--port", str(port)], env, port):
        assert [p.name[:16] for p in temporary.iterdir()] == ["opscore-metrics-"]
    assert list(temporary.iterdir()) == []


def test_serve_migrates_a_fresh_database_when_asked_to(tmp_path):
    port = free_port()
    env = {
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "OPSCORE_MIGRATE_ON_START": "true",
    }
    with running_server([OPSCORE, "serve", "--port", str(port)], env, port) as url:
        health = _call(url, "GET", "/health")
    assert health["store"] == "sqlite"


def test_serve_refuses_a_public_address_without_keys():
    result = subprocess.run(
        [OPSCORE, "serve", "--host", "0.0.0.0", "--port", "1"],  # noqa: S104
        env={"OPSCORE_API_KEYS": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "OPSCORE_API_KEYS is empty" in result.stderr


def _quickstart() -> list[tuple[str, str]]:
    """(command, expected output) pairs of the README's curl quickstart."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("In a second terminal:", 1)[1].split("```console\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return [(lines[i][2:], lines[i + 1]) for i in range(0, len(lines), 2)]


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("make") is None,
    reason="needs curl and make, as the README does",
)
def test_make_run_serves_the_readme_quickstart_as_written(tmp_path):
    port = free_port()
    env = {
        "OPSCORE_PORT": str(port),
        "OPSCORE_API_KEYS": "",
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'quickstart.db'}",
    }
    with running_server(["make", "--no-print-directory", "run"], env, port):
        for command, expected in _quickstart():
            command = command.replace("localhost:8000", f"localhost:{port}")
            result = subprocess.run(
                ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
            )
            assert result.returncode == 0, command
            pattern = ".*".join(map(re.escape, expected.split("...")))
            assert re.fullmatch(pattern, result.stdout.strip()), (command, result.stdout)


def test_served_workers_run_a_workflow_to_completion(tmp_path):
    shutil.copytree(ROOT / "machines", tmp_path / "machines")
    (tmp_path / "machines" / "workflows" / "hello.yaml").write_text(
        "kind: workflow\nname: hello\nversion: 1\nstart: greet\nsteps:\n"
        "  greet: {task: noop, params: {hello: $.input.name}, next: succeeded}\n"
    )
    port = free_port()
    env = {"OPSCORE_MACHINES_DIR": str(tmp_path / "machines"), "OPSCORE_API_KEYS": "k"}
    with running_server([OPSCORE, "serve", "--port", str(port)], env, port) as url:
        started = _call(url, "POST", "/v1/workflows/hello/runs", {"input": {"name": "ops"}})
        assert started["status"] == "running"

        def finished():
            run = _call(url, "GET", f"/v1/runs/{started['id']}")
            return run if run["status"] != "running" else None

        assert poll_until(finished)["output"] == {"hello": "ops"}


def _call(url: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}{path}",
        data=data,
        method=method,
        headers={"X-API-Key": "k", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_worker_refuses_the_in_memory_store():
    result = subprocess.run(
        [OPSCORE, "worker"],
        env={"OPSCORE_DATABASE_URL": "memory://"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert (
        result.stderr
        == "refusing to start: opscore worker needs a shared database, not memory://\n"
    )


def test_first_log_line_is_the_development_key_warning_and_migrations_log_at_debug(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import opscore.wsgi"],
        cwd=ROOT,
        env={
            "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
            "OPSCORE_MIGRATE_ON_START": "true",
            "OPSCORE_MACHINES_DIR": str(ROOT / "machines"),
            "PATH": "",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["level"] == "WARNING"
    assert lines[0]["message"].startswith("OPSCORE_API_KEYS is empty")
    assert not [line for line in lines if line.get("logger", "").startswith("alembic")]
