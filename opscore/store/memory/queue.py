"""An in-memory work queue: a bounded deque of ready items and a heap of timers."""

from __future__ import annotations

import heapq
import itertools
import math
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from ...clock import Clock, SystemClock
from ...config import DEFAULT_QUEUE_CAPACITY
from ...errors import QueueFull
from ..work import WorkItem

IDLE_WAIT = 1.0


class MemoryWorkQueue:
    """Ready items plus claimed ones never exceed `capacity`; due timers go before new work."""

    def __init__(self, capacity: int = DEFAULT_QUEUE_CAPACITY, clock: Clock | None = None) -> None:
        self.capacity = capacity
        self.lease = math.inf  # claims in memory hold no lease: a dead process takes them along
        self.clock = clock or SystemClock()
        self._ready: deque[WorkItem] = deque()
        self._timers: list[tuple[float, int, WorkItem]] = []
        self._busy = 0
        self._peak = 0
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.clock.on_advance(self._wake)

    def admit(self, items: Iterable[WorkItem]) -> None:
        """Queue new work, or raise QueueFull (changing nothing) when no slot is free."""
        items = list(items)
        with self._cond:
            self._promote()
            ready = [item for item in items if item.due <= self.clock.now()]
            if len(ready) > self._free():
                raise QueueFull(self.capacity)
            self._push(items)

    def offer(self, items: Iterable[WorkItem]) -> None:
        """Queue follow-up work; what does not fit waits as a due timer."""
        with self._cond:
            self._push(items)

    def claim(
        self, timeout: float = IDLE_WAIT, stop: threading.Event | None = None
    ) -> WorkItem | None:
        """The next ready item (call `done` after it), or None after `timeout` real seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._closed and not (stop and stop.is_set()):
                self._promote()
                if self._ready:
                    self._busy += 1
                    return self._ready.popleft()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, self._until_next_timer(), IDLE_WAIT))
            return None

    def claim_many(
        self, limit: int, timeout: float = IDLE_WAIT, stop: threading.Event | None = None
    ) -> list[WorkItem]:
        """Up to `limit` ready items (call `done` after each), or none after `timeout`."""
        first = self.claim(timeout, stop)
        if first is None:
            return []
        items = [first]
        with self._cond:
            self._promote()
            while self._ready and len(items) < limit:
                self._busy += 1
                items.append(self._ready.popleft())
        return items

    def done(self, item: WorkItem) -> None:
        """Release the slot of a claimed item."""
        with self._cond:
            self._busy -= 1
            self._promote()
            self._cond.notify()

    @contextmanager
    def keeping(self) -> Iterator[list[WorkItem]]:
        """A claim in memory is no round trip: nothing is kept, the list stays empty."""
        yield []

    def release(self, item: WorkItem, delay: float) -> None:
        """Free the item's slot and queue it again, marked redelivered, after `delay`."""
        again = replace(item, due=self.clock.now() + delay, redelivered=True)
        with self._cond:
            self._busy -= 1
            self._push([again])

    def renew(self, items: Iterable[WorkItem]) -> None:
        """Claims in memory hold no lease: nothing to renew."""

    def holder_stalled(self, item: WorkItem) -> bool:
        """Claims in memory are held by this process's threads, which cannot die alone."""
        return False

    def wake(self) -> None:
        """Wake every waiting worker (so a stopping pool does not wait out its claim)."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiting worker; `claim` returns None from now on."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def depth(self) -> int:
        """Items ready to run (not counting claimed ones or future timers)."""
        return len(self._ready)

    def busy(self) -> int:
        """Items claimed by workers and not yet done."""
        return self._busy

    def peak(self) -> int:
        """The most items ever ready or claimed at once (never more than `capacity`)."""
        return self._peak

    def timers(self) -> int:
        """Items waiting for their time (retries, waits, timeouts)."""
        return len(self._timers)

    def next_due(self) -> float | None:
        """When the earliest timer is due, if any."""
        with self._cond:
            return self._timers[0][0] if self._timers else None

    def _free(self) -> int:
        return self.capacity - len(self._ready) - self._busy

    def _push(self, items: Iterable[WorkItem]) -> None:
        for item in items:
            heapq.heappush(self._timers, (item.due, next(self._order), item))
        self._promote()
        self._cond.notify_all()

    def _promote(self) -> None:
        """Move due timers into the ready deque while slots are free."""
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now and self._free() > 0:
            self._ready.append(heapq.heappop(self._timers)[2])
        self._peak = max(self._peak, len(self._ready) + self._busy)

    def _until_next_timer(self) -> float:
        if not self._timers:
            return IDLE_WAIT
        return max(0.0, self._timers[0][0] - self.clock.now())

    def _wake(self) -> None:
        with self._cond:
            self._promote()
            self._cond.notify_all()
