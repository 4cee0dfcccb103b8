"""HTTP without a server: the CPU time one `POST /v1/agents/{id}/events` takes inside the
WSGI app (memory store), against the bare Flask endpoint called the same way. What is left
of the served figures is the server's share (gunicorn, sockets, threads)."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from opscore.api import create_app
from opscore.config import Settings
from opscore.logs import configure_logging

from .bare_app import app as bare_app
from .results import Figure
from .web import KEY

AGENTS = 1000
BODIES = [json.dumps({"event": event}).encode() for event in ("activate", "complete")]


def _environ(agent_id: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/v1/agents/{agent_id}/events",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_API_KEY": KEY,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _start_response(status: str, headers: Any, exc_info: Any = None) -> None:
    if not status.startswith("200"):
        raise RuntimeError(f"expected 200, got {status}")


def cpu_per_request(app: Callable, ids: list[str], rounds: int) -> float:
    """Microseconds of this process's CPU time per request, `rounds` events per agent."""
    begin = time.process_time()
    for round_ in range(rounds):
        body = BODIES[round_ % 2]
        for agent_id in ids:
            b"".join(app(_environ(agent_id, body), _start_response))
    return (time.process_time() - begin) / (rounds * len(ids)) * 1e6


def measure(repetitions: int, rounds: int = 4) -> list[Figure]:
    """Ours and bare, alternating; an even number of rounds leaves every agent idle."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        open(os.path.join(scratch, "log.jsonl"), "w") as log,
    ):
        app = create_app(Settings.from_env(database_url="memory://", api_keys=KEY))
        configure_logging("INFO", "json", stream=log)
        core = app.extensions["opscore"]
        ids = [core.agents.register(agent_id=f"a{n}").id for n in range(AGENTS)]
        cpu_per_request(app, ids, 2)  # warm-up
        ours, bare = [], []
        for _ in range(repetitions):
            ours.append(cpu_per_request(app, ids, rounds))
            bare.append(cpu_per_request(bare_app, ids, rounds))
    return [
        Figure(
            "http",
            "CPU per POST event, in process (memory store, no server)",
            "µs",
            ours,
            "bare Flask endpoint",
            bare,
            higher_is_better=False,
        )
    ]
