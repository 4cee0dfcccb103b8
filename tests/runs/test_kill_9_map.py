"""kill -9 of every process during a map of 200 items, then a restart: the run finishes,
every item ran, the output lists all 200 in order, and no more than `max_concurrency`
items were ever running at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.constants import ROOT
from tests.support.polling import poll_until
from tests.support.servers import free_port, wait_until_healthy

OPSCORE = str(Path(sys.executable).parent / "opscore")
KEY = "map-durability-key"
ITEMS = 200
LIMIT = 8
# An attempt the kill cut short fails with States.WorkerLost; as docs/workflows.md advises,
# the steps retry it.
LOST = "[{errors: [States.WorkerLost], max_attempts: 5, interval: 100ms}]"
MAP = f"""kind: workflow
name: many
version: 1
start: each
steps:
  each:
    map:
      items: $.input.items
      max_concurrency: {LIMIT}
      start: pause
      steps:
        pause: {{task: wait, params: {{duration: 30ms}}, next: echo, retry: {LOST}}}
        echo:
          {{task: noop, params: {{index: $.index, item: $.item}}, next: succeeded, retry: {LOST}}}
    next: succeeded
"""


def call(url: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def env(tmp_path):
    shutil.copytree(ROOT / "machines", tmp_path / "machines")
    (tmp_path / "machines" / "workflows" / "many.yaml").write_text(MAP)
    env = {
        **os.environ,
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "OPSCORE_MACHINES_DIR": str(tmp_path / "machines"),
        "OPSCORE_API_KEYS": KEY,
        "OPSCORE_PROCESSES": "2",
        "OPSCORE_WORKERS": "4",
        "OPSCORE_WORK_LEASE": "2",  # a killed worker's item comes back within seconds
        "OPSCORE_LOG_LEVEL": "WARNING",
    }
    subprocess.run([OPSCORE, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def serve(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [OPSCORE, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_healthy(f"http://127.0.0.1:{port}", process)
    return process


def items_done(url: str, run_id: str) -> int:
    steps = call(url, "GET", f"/v1/runs/{run_id}")["steps"]
    return sum(1 for s in steps if s["name"].endswith("/echo") and s["status"] == "succeeded")


def most_at_once(steps: list[dict]) -> int:
    """The most items whose steps were in progress at one moment (from their attempts)."""
    spans: dict[str, list[str]] = {}
    for step in steps:
        parts = step["name"].split("/")
        if len(parts) == 3:
            times = spans.setdefault(parts[1], [])
            for attempt in step["attempts"]:
                times += [attempt["started_at"], attempt.get("ended_at", attempt["started_at"])]
    edges = sorted(
        [(min(t), 1) for t in spans.values()] + [(max(t), -1) for t in spans.values()],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = most = 0
    for _, change in edges:
        running += change
        most = max(most, running)
    return most


def test_a_map_killed_mid_way_finishes_after_a_restart_with_every_item_in_order(env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(env, port)
    items = [f"doc-{n}" for n in range(ITEMS)]
    run_id = call(url, "POST", "/v1/workflows/many/runs", {"input": {"items": items}})["id"]
    poll_until(
        lambda: items_done(url, run_id) >= ITEMS // 4, timeout=120, what="a quarter", every=0.05
    )
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    server = serve(env, port)
    try:
        run = poll_until(
            lambda: (r := call(url, "GET", f"/v1/runs/{run_id}"))["status"] != "running" and r,
            timeout=180,
            what="the run to end after the restart",
            every=0.2,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert run["status"] == "succeeded", run["error"]
    assert run["output"] == [{"index": n, "item": item} for n, item in enumerate(items)]
    assert most_at_once(run["steps"]) <= LIMIT
