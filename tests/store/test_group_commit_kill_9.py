"""kill -9 of a server committing writes in groups of 8 and more: after a restart every
acknowledged write is there, and every unacknowledged one is there wholly (state, history
and Idempotency-Key answer) or not at all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.backends import database_url, reset_postgres
from tests.support.constants import ROOT
from tests.support.polling import poll_until
from tests.support.servers import UNANSWERED, free_port, wait_until_healthy

OPSCORE = str(Path(sys.executable).parent / "opscore")
KEY = "group-kill-key"
CLIENTS = 24  # each drives its own agent, one request at a time
GROUP = 8
GROUPS_SEEN = 20  # groups of at least GROUP writes committed before the kill
NEXT = {"activate": "complete", "complete": "activate"}


@dataclass
class Agent:
    """What one client sent to its agent and which answers it read."""

    id: str
    acknowledged: list[tuple[int, str, str]] = field(default_factory=list)  # seq, event, key
    unanswered: tuple[str, str] | None = None  # event, key

    def next_event(self) -> str:
        return NEXT[self.acknowledged[-1][1]] if self.acknowledged else "activate"


def call(url: str, method: str, path: str, body=None, key: str | None = None, timeout=10.0):
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, dict(response.headers), json.loads(response.read() or b"null")


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


def groups_of_at_least_eight(url: str) -> int:
    """Committed groups of GROUP writes or more, from the server's metrics."""
    request = urllib.request.Request(f"{url}/metrics", headers={"X-API-Key": KEY})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    count = re.search(r"^opscore_store_group_writes_count (\S+)$", text, re.M)
    small = re.search(r'^opscore_store_group_writes_bucket\{le="7.0"\} (\S+)$', text, re.M)
    return int(float(count[1]) - float(small[1])) if count and small else 0


def history(url: str, agent_id: str) -> list[dict]:
    return call(url, "GET", f"/v1/agents/{agent_id}/history?page_size=500")[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    url = database_url(request.param, tmp_path)
    if request.param == "postgresql":
        reset_postgres(url)
    env = {
        **os.environ,
        "OPSCORE_DATABASE_URL": url,
        "OPSCORE_API_KEYS": KEY,
        "OPSCORE_PROCESSES": "1",  # one process: every write of the load meets in its groups
        "OPSCORE_THREADS": str(CLIENTS + 8),
        "OPSCORE_WORKERS": "0",
        "OPSCORE_LOG_LEVEL": "WARNING",
    }
    subprocess.run([OPSCORE, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def test_kill_9_while_groups_commit_keeps_acknowledged_writes_and_no_half_write(env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(env, port)
    agents = [Agent(f"agent-{n}") for n in range(CLIENTS)]
    for agent in agents:
        call(url, "POST", "/v1/agents", {"id": agent.id})

    def load(agent: Agent) -> None:
        while True:
            event, key = agent.next_event(), f"{agent.id}-{len(agent.acknowledged)}"
            try:
                _, _, body = call(
                    url, "POST", f"/v1/agents/{agent.id}/events", {"event": event}, key, 5
                )
            except UNANSWERED:  # the kill came before its answer was read whole
                agent.unanswered = (event, key)
                return
            agent.acknowledged.append((body["transition"]["seq"], event, key))

    clients = [threading.Thread(target=load, args=(agent,)) for agent in agents]
    for client in clients:
        client.start()
    if env["OPSCORE_DATABASE_URL"].startswith("sqlite"):
        poll_until(
            lambda: groups_of_at_least_eight(url) >= GROUPS_SEEN,
            timeout=120,
            what=f"{GROUPS_SEEN} committed groups of {GROUP} writes or more",
            every=0.05,
        )
    else:  # PostgreSQL commits each write alone: kill it under the same load
        poll_until(lambda: sum(len(a.acknowledged) for a in agents) >= 300, 120, "300 acknowledged")
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    for client in clients:
        client.join(timeout=30)

    server = serve(env, port)
    try:
        for agent in agents:
            records = history(url, agent.id)
            assert [r["seq"] for r in records] == list(range(1, len(records) + 1)), agent.id
            by_seq = {r["seq"]: r["event"] for r in records}
            assert all(by_seq.get(seq) == event for seq, event, _ in agent.acknowledged), agent.id
            assert agent.unanswered is not None, agent.id
            expected_seq = len(agent.acknowledged) + 1
            assert len(records) in (expected_seq - 1, expected_seq), agent.id
            # State row and history agree: the write is there whole, or not at all.
            state = call(url, "GET", f"/v1/agents/{agent.id}")[2]
            assert state["state"] == (records[-1]["dest"] if records else "idle"), agent.id
            # Its Idempotency-Key answer goes with it: a retry replays the write if it is
            # there, and makes it now if it is not; either way it is in the history once.
            event, key = agent.unanswered
            _, headers, body = call(
                url, "POST", f"/v1/agents/{agent.id}/events", {"event": event}, key
            )
            replayed = headers.get("Idempotent-Replayed") == "true"
            assert replayed == (len(records) == expected_seq), agent.id
            assert body["transition"]["seq"] == expected_seq, agent.id
            after = history(url, agent.id)
            assert [r["seq"] for r in after] == list(range(1, expected_seq + 1)), agent.id
            assert after[-1]["event"] == event, agent.id
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
