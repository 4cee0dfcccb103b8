"""BufferingWorker's stop signals: one that came while the worker booted is acted on, and
none is handled in a way that can wait forever on a lock the main thread holds.

Ctrl-C used to leave a worker running now and then until the master killed it 10 s later
(tests/serving/test_slow_clients.py saw it under load); these pin down the two causes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from opscore.serving.worker import BufferingWorker

HANDLER_DEADLINE = 5.0  # seconds: a handler that has not returned by then is stuck


def a_worker() -> BufferingWorker:
    """A worker as the master builds it before the fork: no sockets, no app loaded."""
    cfg = Config()
    return BufferingWorker(1, os.getpid(), [], None, 30, cfg, Logger(cfg))


@pytest.fixture
def worker() -> Iterator[BufferingWorker]:
    worker = a_worker()
    yield worker
    worker.tmp.close()


def test_a_ctrl_c_that_came_before_the_workers_handlers_is_held_until_it_has_booted():
    # In its own process: init_signals installs handlers and blocks signals.
    script = textwrap.dedent(
        """
        import os, queue, signal
        from tests.serving.test_worker_signals import a_worker

        worker = a_worker()
        worker.PIPE = os.pipe()
        os.set_blocking(worker.PIPE[1], False)
        worker.signals_before_handlers = queue.SimpleQueue()
        worker.signals_before_handlers.put(signal.SIGINT)  # as the master's handler did
        worker.init_signals()
        print(signal.SIGINT in signal.sigpending())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "True", done.stderr


def test_ctrl_c_while_the_main_thread_holds_the_thread_pools_lock_returns_at_once(worker):
    worker.tpool = worker.get_thread_pool()
    worker.method_queue.init()
    handler = threading.Thread(target=worker.handle_quit, args=(signal.SIGINT, None), daemon=True)
    try:
        with worker.tpool._shutdown_lock:  # held while a request is handed to a thread
            handler.start()
            handler.join(HANDLER_DEADLINE)
            assert not handler.is_alive(), "the handler waited for the thread pool's lock"
    finally:
        worker.method_queue.close()
        worker.tpool.shutdown(wait=False)
