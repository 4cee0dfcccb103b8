"""The image's own start command and health check, run without a Docker engine.

The `container` fixture (conftest.py) lays out the image from the Dockerfile; here its
ENTRYPOINT runs with its ENV, the port mapped to a free one and keys given as
`docker run -e` would, and its HEALTHCHECK runs beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.constants import ROOT
from tests.support.servers import free_port, wait_until_healthy

KEY = "image-test-key"


@pytest.fixture(scope="module")
def served(container):
    """The image's ENTRYPOINT running, as `docker run -p PORT:8000 -e OPSCORE_API_KEYS=...`."""
    port = free_port()
    env = {**container.env, "OPSCORE_PORT": str(port), "OPSCORE_API_KEYS": KEY}
    command = container.stage.command()
    program = shutil.which(command[0], path=env["PATH"])
    assert program is not None, f"{command[0]} is not on the image's PATH"
    assert Path(program).is_relative_to(container.root), f"{program} is not the image's"
    logs = container.root / "logs"
    logs.mkdir()
    with (logs / "stdout").open("w") as stdout, (logs / "stderr").open("w") as stderr:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=container.workdir,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}", process)
        except (RuntimeError, AssertionError) as error:
            raise AssertionError(f"{error}:\n{(logs / 'stderr').read_text()}") from None
        yield env, logs
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, as `docker stop` sends; SIGKILL after 30 s, as it does too."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_image_entry_point_migrates_its_volume_and_serves_health_on_sqlite(container, served):
    env, _ = served
    with urllib.request.urlopen(f"http://127.0.0.1:{env['OPSCORE_PORT']}/health") as response:
        health = json.loads(response.read())
    assert health["status"] == "ok"
    assert health["store"] == "sqlite"
    assert health["machines"] == len(list((ROOT / "machines").rglob("*.yaml")))
    assert [p.name for p in (container.root / "data").glob("*.db")] == ["opscore.db"]


def test_image_healthcheck_passes_while_the_service_answers(container, served):
    env, _ = served
    result = container.run(container.stage.healthcheck(), OPSCORE_PORT=env["OPSCORE_PORT"])
    assert result.returncode == 0, result.stderr


def test_image_healthcheck_fails_when_nothing_answers(container):
    result = container.run(container.stage.healthcheck(), OPSCORE_PORT=str(free_port()))
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy: http://127.0.0.1:")


def test_image_logs_one_json_object_per_line_on_stdout_only(served):
    _, logs = served
    lines = [json.loads(line) for line in (logs / "stdout").read_text().splitlines()]
    assert all({"time", "level", "message"} <= line.keys() for line in lines)
    assert any(line["message"].startswith("ready on http://0.0.0.0:") for line in lines)
    assert (logs / "stderr").read_text() == ""


def test_image_switches_traces_on_when_otel_variables_ask_for_them(container):
    switch_on = "from opscore.tracing import configure_tracing; print(configure_tracing())"

    result = container.run(["python", "-c", switch_on], OTEL_TRACES_EXPORTER="console")

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"
