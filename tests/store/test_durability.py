"""Real processes on a SQL store: a kill -9 loses no acknowledged event; worker processes share
the queue without running a step twice; state survives a restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

from opscore.config import Settings
from opscore.core import OpsCore
from opscore.model import Query
from tests.support.backends import database_url, reset_postgres
from tests.support.constants import ROOT
from tests.support.polling import poll_until
from tests.support.servers import UNANSWERED, free_port, wait_until_healthy

OPSCORE = str(Path(sys.executable).parent / "opscore")
KEY = "durability-key"
AGENTS = 16
THREADS = 8


def call(url: str, method: str, path: str, body: dict | None = None, timeout: float = 10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}{path}",
        data=data,
        method=method,
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")


def migrate(env: dict) -> None:
    subprocess.run([OPSCORE, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)


def start_server(env: dict, port: int) -> subprocess.Popen:
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


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    os.killpg(process.pid, sig)
    process.wait(timeout=30)


@pytest.fixture
def sqlite_env(tmp_path):
    env = {
        **os.environ,
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "OPSCORE_API_KEYS": KEY,
        "OPSCORE_PROCESSES": "2",
        "OPSCORE_WORKERS": "0",
        "OPSCORE_LOG_LEVEL": "WARNING",
    }
    migrate(env)
    return env


def history(url: str, agent_id: str) -> list[dict]:
    records, page = [], 1
    while True:
        _, batch = call(url, "GET", f"/v1/agents/{agent_id}/history?page={page}&page_size=500")
        records += batch
        if len(batch) < 500:
            return records
        page += 1


def test_kill_9_mid_load_loses_no_acknowledged_event(sqlite_env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(sqlite_env, port)
    for n in range(AGENTS):
        call(url, "POST", "/v1/agents", {"id": f"agent-{n}"})
    acknowledged: dict[str, list[tuple[int, str]]] = defaultdict(list)
    lock = threading.Lock()

    def load(index: int) -> None:
        mine = [f"agent-{n}" for n in range(index, AGENTS, THREADS)]
        events = {agent: "activate" for agent in mine}
        while True:
            for agent in mine:
                try:
                    status, body = call(
                        url,
                        "POST",
                        f"/v1/agents/{agent}/events",
                        {"event": events[agent]},
                        timeout=5,
                    )
                except UNANSWERED:  # the kill came before its answer was read whole
                    return
                if status == 200:
                    with lock:
                        acknowledged[agent].append((body["transition"]["seq"], events[agent]))
                    events[agent] = "complete" if events[agent] == "activate" else "activate"

    threads = [threading.Thread(target=load, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    poll_until(
        lambda: sum(map(len, acknowledged.values())) >= 300,
        timeout=120,
        what="300 acknowledged events",
    )
    stop(server, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=30)

    server = start_server(sqlite_env, port)
    try:
        for agent, acked in acknowledged.items():
            records = history(url, agent)
            seqs = [r["seq"] for r in records]
            assert seqs == list(range(1, len(records) + 1)), agent
            by_seq = {r["seq"]: r["event"] for r in records}
            assert all(by_seq.get(seq) == event for seq, event in acked), agent
    finally:
        stop(server)


def test_state_survives_a_restart_with_no_configuration(tmp_path):
    shutil.copytree(ROOT / "machines", tmp_path / "machines")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPSCORE_")}
    env["OPSCORE_API_KEYS"] = KEY
    subprocess.run(
        [OPSCORE, "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()

    def serve() -> subprocess.Popen:
        process = subprocess.Popen(
            [OPSCORE, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        return process

    server = serve()
    url = f"http://127.0.0.1:{port}"
    call(url, "POST", "/v1/agents", {"id": "keeper"})
    call(url, "POST", "/v1/agents/keeper/events", {"event": "activate"})
    stop(server)
    server = serve()
    try:
        assert call(url, "GET", "/health")[1]["store"] == "sqlite"
        assert call(url, "GET", "/v1/agents/keeper")[1]["state"] == "active"
        assert (tmp_path / "var" / "opscore.db").exists()
    finally:
        stop(server)


NOOPS = """kind: workflow
name: three_steps
version: 1
start: one
steps:
  one: {task: noop, params: {n: 1}, next: two}
  two: {task: noop, params: {n: 2}, next: three}
  three: {task: noop, params: {n: 3}, next: succeeded}
"""
RUNS = 500


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_worker_processes_complete_500_runs_without_running_a_step_twice(backend, tmp_path):
    url = database_url(backend, tmp_path)
    if backend == "postgresql":
        reset_postgres(url)
    shutil.copytree(ROOT / "machines", tmp_path / "machines")
    (tmp_path / "machines" / "workflows" / "three_steps.yaml").write_text(NOOPS)
    env = {
        **os.environ,
        "OPSCORE_DATABASE_URL": url,
        "OPSCORE_WORKERS": "4",
        "OPSCORE_MACHINES_DIR": str(tmp_path / "machines"),
        "OPSCORE_QUEUE_CAPACITY": "1000",
        "OPSCORE_LOG_LEVEL": "WARNING",
    }
    migrate(env)
    settings = Settings.from_env(env)
    core = OpsCore.from_settings(settings)
    runs = [core.runs.start("three_steps").id for _ in range(RUNS)]
    workers = [
        subprocess.Popen(
            [OPSCORE, "worker"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        poll_until(
            lambda: core.runs.list(Query(state="succeeded")).total == RUNS,
            timeout=240,
            what="every run to succeed",
        )
    finally:
        for worker in workers:
            stop(worker)
    processes = set()
    for run_id in runs:
        steps = core.runs.state(core.runs.get(run_id)).steps
        for name in ("one", "two", "three"):
            [attempt] = steps[name].attempts
            processes.add(attempt.worker.rsplit(":", 1)[0])
    assert len(processes) == 2
    assert core.store.queue.next_due() is None
    core.store.engine.dispose()


def test_metrics_of_several_server_processes_are_summed(sqlite_env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(sqlite_env, port)
    try:
        call(url, "POST", "/v1/agents", {"id": "counted"})
        for event in ("activate", "complete") * 10:
            call(url, "POST", "/v1/agents/counted/events", {"event": event})
        for _ in range(4):  # whichever process answers, it reports every process's counts
            text = metrics_text(url)
            assert (
                'opscore_transitions_total{event="activate",kind="agent",machine="agent"} 10.0'
                in text
            )
    finally:
        stop(server)


def metrics_text(url: str) -> str:
    request = urllib.request.Request(f"{url}/metrics", headers={"X-API-Key": KEY})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()
