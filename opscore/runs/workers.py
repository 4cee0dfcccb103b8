"""Workers: threads taking items from a work queue, keeping their leases, and their number.

Idle threads claim together: one of them takes up to as many items as there are idle
threads in one round trip to the queue, and hands the others theirs.

Whatever a task handler does (returns, raises, returns garbage, hangs) is an outcome of
its own attempt only. A handler still running when its step's timeout comes is left
behind: a watchdog releases its queue slot and, up to a bound, starts a replacement
thread, so the pool keeps its capacity. The step's timeout is then settled by the queue's
timer like any other; if the handler ever returns, its result finds the attempt moved
on and changes nothing, and its thread leaves the pool (or takes its seat back, when no
replacement could be started).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from loguru import logger

from .. import metrics
from ..clock import SystemClock
from ..store.work import WorkItem, WorkQueue
from .dispatcher import StepRunner

CLAIM_WAIT = 0.5
CLAIM_BATCH = 16  # items one claim may take at most, for the idle threads of the pool
# Seconds between lease renewals, at most (and four times within the queue's lease): often,
# so that a step whose worker died is told from one that ran out of time within the step's
# timeout, not the lease's (see Attempts.time_out).
RENEW_EVERY = 1.0
WATCH_IDLE = 1.0  # real seconds between the watchdog's checks when nothing is due
RETRY_FAILED_AFTER = 1.0  # seconds before an item whose processing raised is tried again


class _Worker:
    """One worker thread, as the pool and its watchdog see it (guarded by the pool's lock)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.item: WorkItem | None = None
        self.deadline: float | None = None  # clock time by which its handler should return
        self.overdue = False  # its handler ran past the deadline; its slot was released
        self.replaced = False  # another thread took its seat


class _HandlerWatch:
    """What the runner tells the pool about one worker's handler."""

    def __init__(self, pool: WorkerPool, worker: _Worker) -> None:
        self.pool = pool
        self.worker = worker

    @contextmanager
    def running(self, deadline: float | None) -> Iterator[None]:
        """The handler runs inside this block; past `deadline` (clock time) it is overdue."""
        with self.pool._lock:
            self.worker.deadline = deadline
            self.pool._changed()
        try:
            yield
        finally:
            with self.pool._lock:
                self.worker.deadline = None


class WorkerPool:
    """`size` threads taking items from one queue; a heartbeat renews their leases and a
    watchdog replaces (up to `max_overdue` at once) those whose handler is overdue."""

    def __init__(
        self,
        queue: WorkQueue,
        runner: StepRunner,
        size: int,
        clock: Any = None,
        max_overdue: int | None = None,
    ) -> None:
        self.queue = queue
        self.runner = runner
        self.size = size
        self.clock = clock or SystemClock()
        self.max_overdue = size if max_overdue is None else max_overdue
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._workers: list[_Worker] = []
        self._threads: list[threading.Thread] = []
        self._names = itertools.count()
        self._saturated = False
        self._changes = 0  # counts what the watchdog must look at again
        # One idle thread at a time claims, for itself and the other idle threads, and
        # hands them what it took beyond its own (`_handoff` guards these three).
        self._handoff = threading.Condition()
        self._handed: deque[WorkItem] = deque()
        self._idle = 0
        self._claiming = False

    def start(self) -> None:
        """Start the threads (once)."""
        if self._threads:
            return
        self.clock.on_advance(self._wake)
        with self._lock:
            workers = [self._new_worker() for _ in range(self.size)]
        for worker in workers:
            self._spawn(self._work, worker.name, worker)
        self._spawn(self._heartbeat, "opscore-worker-heartbeat")
        self._spawn(self._watchdog, "opscore-worker-watchdog")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work, wake idle threads and wait (at most `timeout`) for busy ones."""
        self._stop.set()
        self.queue.wake()
        self._wake()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._handoff:
            left, self._handed = list(self._handed), deque()
        for item in left:  # claimed for a thread that stopped first: give it back now
            self.queue.release(item, 0.0)

    def threads(self) -> int:
        """Worker threads alive, handlers left behind included."""
        with self._lock:
            return len(self._workers)

    def overdue(self) -> int:
        """Handlers still running past their step's timeout."""
        with self._lock:
            return sum(1 for worker in self._workers if worker.overdue)

    # ---- threads ------------------------------------------------------------------------

    def _work(self, worker: _Worker) -> None:
        try:
            self._take_items(worker)
        finally:
            with self._lock:
                self._forget(worker)

    def _take_items(self, worker: _Worker) -> None:
        """Carry out items until the pool stops or this thread was left behind and replaced;
        the item an outcome's commit queued already claimed by this thread comes next."""
        watch = _HandlerWatch(self, worker)
        kept: WorkItem | None = None
        while not self._stop.is_set():
            item = kept or self._next_item()
            if item is None:
                continue
            kept, stay = self._carry_out(worker, item, watch)
            if not stay:
                break
        if kept is not None:
            self._hand_over(kept)

    def _carry_out(
        self, worker: _Worker, item: WorkItem, watch: _HandlerWatch
    ) -> tuple[WorkItem | None, bool]:
        """Process one item: the item its commits kept for this thread (`WorkQueue.keeping`),
        if any, and whether the thread stays in the pool."""
        with self._lock:
            worker.item = item
        metrics.queue_wait.labels(item.kind).observe(max(0.0, self.queue.clock.now() - item.due))
        failed = True
        kept: list[WorkItem] = []
        try:
            with self.queue.keeping() as kept:
                self.runner.process(item, self.queue.owner, watch)
            failed = False
        except Exception:
            logger.exception(
                "work item {kind} for run {run_id} failed; it is tried again",
                kind=item.kind,
                run_id=item.run_id,
            )
        finally:
            stay = self._finish(worker, item, failed)
        return (kept[0] if kept else None), stay

    def _hand_over(self, item: WorkItem) -> None:
        """A kept item this thread will not carry out: to the idle threads, or back to the
        queue when the pool is stopping."""
        if self._stop.is_set():
            self.queue.release(item, 0.0)
            return
        with self._handoff:
            self._handed.append(item)
            self._handoff.notify_all()

    def _next_item(self) -> WorkItem | None:
        """An item handed over by the thread that claimed it, or one claimed with a batch for
        the idle threads (one round trip to the queue for all of them); None after a wait."""
        with self._handoff:
            self._idle += 1
            try:
                while self._claiming and not self._handed and not self._stop.is_set():
                    self._handoff.wait(CLAIM_WAIT)
                if self._handed:
                    return self._handed.popleft()
                if self._claiming or self._stop.is_set():
                    return None
                self._claiming = True
                wanted = min(self._idle, CLAIM_BATCH)
            finally:
                self._idle -= 1
        items: list[WorkItem] = []
        try:
            items = self.queue.claim_many(wanted, CLAIM_WAIT, self._stop)
        finally:
            with self._handoff:
                self._claiming = False
                self._handed.extend(items[1:])
                self._handoff.notify_all()
        return items[0] if items else None

    def _finish(self, worker: _Worker, item: WorkItem, failed: bool) -> bool:
        """Release the item's slot unless the watchdog did (an item whose processing failed
        is given back, to be tried again); False if the thread must leave."""
        with self._lock:
            worker.item = None
            left_behind, worker.overdue = worker.overdue, False
            if left_behind and worker.replaced:
                return False
        if left_behind:
            return True
        if failed:
            self.queue.release(item, RETRY_FAILED_AFTER)
        else:
            self.queue.done(item)
        return True

    def _watchdog(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                released, replacements = self._leave_overdue_behind()
                pause = self._until_next_deadline()
                seen = self._changes
            for item in released:
                self.queue.done(item)
            for worker in replacements:
                self._spawn(self._work, worker.name, worker)
            with self._lock:
                if not self._stop.is_set() and self._changes == seen:
                    self._lock.wait(pause)

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(RENEW_EVERY, self.queue.lease / 4)):
            with self._lock:
                held = [w.item for w in self._workers if w.item is not None and not w.overdue]
            with self._handoff:
                held += self._handed
            if held:
                try:
                    self.queue.renew(held)
                except Exception:
                    logger.exception("could not renew the leases of {count} items", count=len(held))

    # ---- helpers (called with the lock held) ---------------------------------------------

    def _leave_overdue_behind(self) -> tuple[list[WorkItem], list[_Worker]]:
        """Mark handlers past their deadline overdue; their items and the replacements due."""
        now = self.clock.now()
        released: list[WorkItem] = []
        for worker in self._workers:
            if worker.deadline is not None and worker.deadline <= now and not worker.overdue:
                worker.overdue = True
                released.append(worker.item)
                logger.warning(
                    "run {run_id} step {step}: the handler ran past the step's timeout; "
                    "its thread is left behind",
                    run_id=worker.item.run_id,
                    step=worker.item.step,
                )
        replacements = []
        waiting = [w for w in self._workers if w.overdue and not w.replaced]
        for worker in waiting:
            if self._replaced_count() >= self.max_overdue:
                break
            worker.replaced = True
            replacements.append(self._new_worker())
        saturated = len(replacements) < len(waiting)
        if saturated and not self._saturated:
            logger.warning(
                "{count} overdue handlers have been replaced, the most allowed: the pool runs "
                "short of threads until one of them returns",
                count=self._replaced_count(),
            )
        self._saturated = saturated
        return released, replacements

    def _until_next_deadline(self) -> float:
        deadlines = [w.deadline for w in self._workers if w.deadline is not None and not w.overdue]
        if not deadlines:
            return WATCH_IDLE
        return min(WATCH_IDLE, max(0.0, min(deadlines) - self.clock.now()))

    def _replaced_count(self) -> int:
        return sum(1 for worker in self._workers if worker.replaced)

    def _new_worker(self) -> _Worker:
        worker = _Worker(f"opscore-worker-{next(self._names)}")
        self._workers.append(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        self._changed()

    def _changed(self) -> None:
        """Wake the watchdog; it looks again even if it was not yet waiting."""
        self._changes += 1
        self._lock.notify_all()

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, name=name, args=args, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _wake(self) -> None:
        with self._lock:
            self._changed()
