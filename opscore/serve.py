"""Serve the API with gunicorn, as `make run` does: `opscore serve`.

With the in-memory store the service runs one process with threads, so every request
sees the same state; with a SQL store it runs several (OPSCORE_PROCESSES, default 2),
all sharing the database. Step workers start in each process after gunicorn forks it
(threads do not survive a fork).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from loguru import logger

from . import metrics
from .apikeys import DEV_API_KEY
from .config import Settings
from .logs import InterceptHandler


class GunicornLogger(glogging.Logger):
    """Gunicorn's own loggers, routed into the same JSON lines as the application's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers = [InterceptHandler()]
            log.propagate = False


def _start_workers(worker: Any) -> None:
    """In each gunicorn worker process (after the fork), reconnect and start step workers."""
    app = worker.wsgi
    core = app.extensions["opscore"]
    if hasattr(core.store, "after_fork"):
        core.store.after_fork()
    core.start(app.extensions["opscore.settings"].workers)


def _child_exit(_server: Any, worker: Any) -> None:
    metrics.process_exited(worker.pid)


def _when_ready(server: Any) -> None:
    host, port = server.address[0][:2] if server.address else ("?", 0)
    logger.info("ready on http://{host}:{port}", host=host, port=port)


class Server(BaseApplication):
    """A gunicorn application serving one already-built Flask app."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Gunicorn's settings: one process for the in-memory store, several for SQL."""
        for key, value in {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.web_processes,
            "worker_class": "gthread",
            "threads": self.settings.threads,
            "logger_class": GunicornLogger,
            "when_ready": _when_ready,
            "post_worker_init": _start_workers,
            "child_exit": _child_exit,
            "graceful_timeout": 10,
            "keepalive": 5,
            "control_socket_disable": True,
        }.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """The Flask app to serve."""
        return self.app


def serve(app: Flask, settings: Settings) -> None:
    """Run the server until it is stopped."""
    if app.extensions["opscore.keys"].development:
        logger.warning(
            "OPSCORE_API_KEYS is empty: accepting the development key {key} on loopback only",
            key=DEV_API_KEY,
        )
    Server(app, settings).run()
