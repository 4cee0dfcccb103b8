"""`opscore worker`: run workflow steps in a process of their own."""

from __future__ import annotations

import signal
import threading

import click
from loguru import logger

from ..config import ConfigError, Settings
from ..startup import refuse_to_start_on_bad_setup, tune_garbage_collector


@click.command()
@click.option("--workers", type=int, help="Worker threads (default $OPSCORE_WORKERS or 4).")
def worker(workers: int | None) -> None:
    """Take steps from the shared database queue until stopped (SIGTERM or Ctrl-C).

    Run any number of these, on any host that reaches the database.
    """
    from ..core import OpsCore
    from ..logs import configure_logging
    from ..tracing import configure_tracing

    with refuse_to_start_on_bad_setup():
        settings = Settings.from_env()
        if settings.in_memory:
            raise ConfigError("opscore worker needs a shared database, not memory://")
        configure_logging(settings.log_level, settings.log_format)
        configure_tracing()
        core = OpsCore.from_settings(settings)
    tune_garbage_collector(settings.gc_thresholds)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    count = workers if workers is not None else settings.workers
    core.start(count)
    logger.info("worker ready: {count} threads on {store}", count=count, store=core.store.kind)
    stop.wait()
    logger.info("worker stopping")
    core.stop()
