"""Two API processes on one database: a definition stored through one is served by the
other within the bound (SYNC_EVERY), runs of it included."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from opscore.services.definition_sync import SYNC_EVERY
from tests.support.backends import database_url, reset_postgres
from tests.support.constants import API_KEY, MACHINES
from tests.support.polling import poll_until
from tests.support.servers import free_port, running_server

OPSCORE = str(Path(sys.executable).parent / "opscore")
FLOW = """\
kind: workflow
name: shared-flow
version: 1
start: only
steps:
  only: {task: noop, params: {from: somewhere}, next: succeeded}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def two_services(request, tmp_path):
    """The base URLs of two `opscore serve` processes sharing one migrated database."""
    url = database_url(request.param, tmp_path)
    if url.startswith("postgres"):
        reset_postgres(url)
    env = {
        "OPSCORE_DATABASE_URL": url,
        "OPSCORE_API_KEYS": API_KEY,
        "OPSCORE_MACHINES_DIR": str(MACHINES),
        "OPSCORE_PROCESSES": "1",
        "OPSCORE_LOG_LEVEL": "WARNING",
    }
    subprocess.run([OPSCORE, "db", "upgrade"], env=env, check=True, capture_output=True)
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            port = free_port()
            command = [OPSCORE, "serve", "--port", str(port)]
            urls.append(stack.enter_context(running_server(command, env, port)))
        yield urls


def test_a_definition_put_to_one_process_is_served_by_the_other(two_services):
    first, second = two_services
    agent = (MACHINES / "agent.yaml").read_text().replace("version: 1", "version: 2")
    stored = _call(first, "PUT", "/v1/machines/agent", agent.encode(), "application/yaml")
    assert stored["versions"] == [1, 2]

    def served_there():
        return _call(second, "GET", "/v1/machines/agent")["version"] == 2

    poll_until(served_there, timeout=10 * SYNC_EVERY, what="the second process to serve v2")
    assert _call(second, "GET", "/v1/machines")[0]["versions"] == [1, 2]


def test_a_run_of_a_workflow_put_to_one_process_runs_and_shows_on_the_other(two_services):
    first, second = two_services
    _call(first, "PUT", "/v1/machines/shared-flow", FLOW.encode(), "application/yaml")
    run = _call(first, "POST", "/v1/workflows/shared-flow/runs", b'{"input": {}}')

    def succeeded_there():
        return _call(second, "GET", f"/v1/runs/{run['id']}")["status"] == "succeeded"

    poll_until(succeeded_there, timeout=30, what="the run to succeed, seen by the other")


def _call(base: str, method: str, path: str, body: bytes | None = None, kind="application/json"):
    headers = {"X-API-Key": API_KEY}
    if body is not None:
        headers["Content-Type"] = kind
    request = urllib.request.Request(base + path, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
