"""Worker threads draining a work queue, keeping the leases of the items they hold."""

from __future__ import annotations

import threading

from loguru import logger

from .. import metrics
from ..queue.base import WorkItem, WorkQueue
from .runner import StepRunner

CLAIM_WAIT = 0.5
RENEW_EVERY = 15.0  # well inside the SQL queue's 60 s lease


class WorkerPool:
    """A fixed number of threads taking items from one queue; a heartbeat renews their leases."""

    def __init__(self, queue: WorkQueue, runner: StepRunner, size: int) -> None:
        self.queue = queue
        self.runner = runner
        self.size = size
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: dict[int, WorkItem] = {}

    def start(self) -> None:
        """Start the threads (once)."""
        if self._threads:
            return
        for index in range(self.size):
            self._spawn(self._work, f"opscore-worker-{index}")
        self._spawn(self._heartbeat, "opscore-worker-heartbeat")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work, wake idle threads and wait for busy ones to finish."""
        self._stop.set()
        self.queue.wake()
        for thread in self._threads:
            thread.join(timeout)

    def _spawn(self, target: object, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        me = threading.get_ident()
        while not self._stop.is_set():
            item = self.queue.claim(CLAIM_WAIT, self._stop)
            if item is None:
                continue
            self._held[me] = item
            metrics.queue_wait.labels(item.kind).observe(max(0.0, self.queue.clock() - item.due))
            try:
                self.runner.process(item, getattr(self.queue, "owner", None))
            except Exception:
                logger.exception(
                    "work item {kind} for run {run_id} failed", kind=item.kind, run_id=item.run_id
                )
            finally:
                self._held.pop(me, None)
                self.queue.done(item)

    def _heartbeat(self) -> None:
        while not self._stop.wait(RENEW_EVERY):
            held = list(self._held.values())
            if held:
                try:
                    self.queue.renew(held)
                except Exception:
                    logger.exception("could not renew the leases of {count} items", count=len(held))
