"""The worker pool's idle threads claim together: one round trip for several items; an item
a thread's commit kept for it is its next, or goes back when the pool stops first."""

from __future__ import annotations

import threading
from contextlib import contextmanager

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


class KeepingQueue(MemoryWorkQueue):
    """A memory queue whose `keeping` blocks yield `kept` (filled by the runner, as a SQL
    queue's commits fill it), which records the items given back, and when it was woken
    (a stopping pool wakes it)."""

    def __init__(self, capacity: int, clock: ManualClock) -> None:
        super().__init__(capacity, clock)
        self.kept: list[WorkItem] = []
        self.released: list[WorkItem] = []
        self.woken = threading.Event()

    def wake(self):
        self.woken.set()
        super().wake()

    @contextmanager
    def keeping(self):
        yield self.kept

    def release(self, item, delay):
        self.released.append(item)


class KeepingRunner:
    """Holds its item until `go`, then keeps `follow_up` as the item's commit would."""

    def __init__(self, queue: KeepingQueue, follow_up: WorkItem) -> None:
        self.queue = queue
        self.follow_up = follow_up
        self.entered = threading.Event()
        self.go = threading.Event()

    def process(self, item, owner, watch) -> None:
        self.entered.set()
        assert self.go.wait(30)
        self.queue.kept.append(self.follow_up)


def test_an_item_kept_for_a_thread_goes_back_to_the_queue_when_the_pool_stops_first():
    clock = ManualClock()
    queue = KeepingQueue(10, clock)
    follow_up = WorkItem("dispatch", "r", "next", 1, clock.now(), id=7)
    runner = KeepingRunner(queue, follow_up)
    pool = WorkerPool(queue, runner, 1, clock=clock)
    pool.start()
    queue.offer([WorkItem("dispatch", "r", "first", 1, clock.now())])
    assert runner.entered.wait(30)
    stopping = threading.Thread(target=pool.stop)
    stopping.start()
    assert queue.woken.wait(30)  # the pool is stopping
    runner.go.set()
    stopping.join(30)
    assert queue.released == [follow_up]
