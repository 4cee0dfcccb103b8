"""Gunicorn's settings for the service, read from `OPSCORE_*` variables.

The one description of how the API is served: the image runs
`gunicorn --config python:opscore.gunicorn_conf opscore.wsgi:app`, and `opscore serve`
(and so `make run`) loads this module and `opscore.wsgi` the same way.

With the in-memory store the service runs one process with threads, so every request
sees the same state; with a SQL store it runs several (OPSCORE_PROCESSES, default 2),
all sharing the database. The app is built once in the master process (`preload_app`),
so a bad definition or setting stops the server before it forks; step workers start in
each process after the fork (threads do not survive one).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from typing import Any

from gunicorn import glogging
from loguru import logger as _logger

from opscore.config import Settings
from opscore.logs import InterceptHandler
from opscore.startup import refuse_to_start_on_bad_setup, tune_garbage_collector

with refuse_to_start_on_bad_setup():
    _settings = Settings.from_env()


class GunicornLogger(glogging.Logger):
    """Gunicorn's own loggers, routed into the same JSON lines as the application's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers = [InterceptHandler()]
            log.propagate = False


def share_metrics_between_processes() -> str | None:
    """Give prometheus-client a fresh folder for its per-process files (before it is imported).

    Returns the folder when this call made it; it is removed when this process exits.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    folder = tempfile.mkdtemp(prefix="opscore-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    atexit.register(_remove_metrics_folder, folder, os.getpid())
    return folder


def _remove_metrics_folder(folder: str, owner_pid: int) -> None:
    # Forked gunicorn workers inherit this exit handler; only the master that made the
    # folder removes it.
    if os.getpid() == owner_pid:
        shutil.rmtree(folder, ignore_errors=True)


if _settings.web_processes > 1:
    share_metrics_between_processes()


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, with the app loaded: freeze what it made and set the collector, which
    each worker process keeps (see `tune_garbage_collector`)."""
    tune_garbage_collector(_settings.gc_thresholds)


def post_fork(server: Any, worker: Any) -> None:
    """In a new worker process, before its own signal handlers: hand it the master's signal
    queue, where a Ctrl-C that reaches this process now is put (see BufferingWorker)."""
    worker.signals_before_handlers = server.SIG_QUEUE


def post_worker_init(worker: Any) -> None:
    """In each gunicorn worker process (after the fork), reconnect and start step workers."""
    app = worker.wsgi
    core = app.extensions["opscore"]
    core.store.after_fork()
    core.start(app.extensions["opscore.settings"].workers)


def worker_int(worker: Any) -> None:
    """On SIGINT/SIGQUIT (and, from BufferingWorker, SIGTERM): end the live streams at once,
    so the worker exits well within the graceful timeout instead of being killed."""
    worker.wsgi.extensions["opscore.stopping"].set()


def child_exit(_server: Any, worker: Any) -> None:
    """Forget a dead worker process's live metric values."""
    from opscore import metrics

    metrics.process_exited(worker.pid)


def when_ready(server: Any) -> None:
    """Say where the service listens, once it accepts requests."""
    host, port = server.address[0][:2] if server.address else ("?", 0)
    _logger.info("ready on http://{host}:{port}", host=host, port=port)


wsgi_app = "opscore.wsgi:app"
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_processes
worker_class = "opscore.serving.worker.BufferingWorker"  # requests are read whole first
threads = _settings.threads
logger_class = GunicornLogger
preload_app = True
graceful_timeout = 10
keepalive = 5
control_socket_disable = True
