"""The worker pool's idle threads claim together: one round trip for several items."""

from __future__ import annotations

import threading

from opscore.clock import ManualClock
from opscore.runs import WorkerPool
from opscore.store import MemoryWorkQueue, WorkItem
from tests.support.polling import poll_until

THREADS = 4


class CountedQueue(MemoryWorkQueue):
    """A memory queue that remembers how many items each claim returned."""

    def __init__(self, capacity: int, clock: ManualClock) -> None:
        super().__init__(capacity, clock)
        self.claims: list[int] = []
        self.limits: list[int] = []

    def claim_many(self, limit, timeout=0.5, stop=None):
        self.limits.append(limit)
        items = super().claim_many(limit, timeout, stop)
        if items:
            self.claims.append(len(items))
        return items


class TogetherRunner:
    """Runs each item only once every item it was given is running (all at the same time)."""

    def __init__(self, count: int) -> None:
        self.together = threading.Barrier(count, timeout=30)
        self.ran: list[str] = []
        self.lock = threading.Lock()

    def process(self, item, owner, watch) -> None:
        self.together.wait()
        with self.lock:
            self.ran.append(item.run_id)


def test_idle_threads_take_several_items_in_fewer_claims_and_run_them_at_once():
    clock = ManualClock()
    queue = CountedQueue(10, clock)
    runner = TogetherRunner(THREADS)
    pool = WorkerPool(queue, runner, THREADS, clock=clock)
    pool.start()
    try:
        poll_until(lambda: THREADS in queue.limits, what="a claim for every idle thread")
        queue.offer([WorkItem("dispatch", f"r{n}", "s", 1, clock.now()) for n in range(THREADS)])
        poll_until(lambda: len(runner.ran) == THREADS, what="every item to run")
    finally:
        pool.stop()
    assert sorted(runner.ran) == [f"r{n}" for n in range(THREADS)]
    assert len(queue.claims) < THREADS
    assert queue.busy() == 0
