"""The serving front: POST /v1/agents/{id}/events through `opscore serve` (its buffering
worker, `opscore.serving`) against the same app on gunicorn's stock gthread worker, which
served it before issue 17; same settings, same load, runs alternating in one run.

The events row of `web.py` divides ours by a bare Flask endpoint on gthread; this row says
whether the front itself moved that ratio: at 1.0 it did not.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from . import web
from .results import Figure

CONFIG = "python:opscore.gunicorn_conf"
APP = "opscore.wsgi:app"


def serve_on_gthread(scratch: Path) -> tuple[subprocess.Popen, int]:
    """The app as `opscore serve` runs it (memory store), but on gunicorn's gthread worker:
    the command line's `-k` overrides the config module's `worker_class`."""
    port = web.free_port()
    env = {
        "OPSCORE_DATABASE_URL": "memory://",
        "OPSCORE_PORT": str(port),
        "OPSCORE_API_KEYS": web.KEY,
    }
    argv = [web.GUNICORN, "--config", CONFIG, "-k", "gthread", APP]
    return web.start(argv, env, port, scratch / "opscore-gthread.log"), port


def rates(ports: tuple[int, int], repetitions: int, seconds: float) -> tuple[list[float], ...]:
    """Requests/s on each port, load runs alternating between them, every agent idle first."""
    for port in ports:
        web.register_agents(port)
        web.load(port, min(2.0, seconds))  # warm-up: connections, caches, compiled machines
    measured: tuple[list[float], ...] = tuple([] for _ in ports)
    for _ in range(repetitions):
        for port, runs in zip(ports, measured, strict=True):
            web.settle(port)
            runs.append(web.load(port, seconds)[0])
    return measured


def measure(repetitions: int, seconds: float) -> list[Figure]:
    """The buffering front's events rate as a share of gthread's."""
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        buffering, port, _ = web.serve_opscore("memory", scratch)
        gthread, gthread_port = serve_on_gthread(scratch)
        try:
            ours, theirs = rates((port, gthread_port), repetitions, seconds)
        finally:
            web.stop(buffering)
            web.stop(gthread)
    figure = Figure(
        "serving",
        "POST events, memory store, buffering front (opscore.serving)",
        "req/s",
        ours,
        "same app on gthread",
        theirs,
        "at least 0.95 of gthread",
        note=f"{web.generator()}; the front's share of gthread's rate",
    )
    figure.met = figure.ratio >= 0.95
    return [figure]
