"""The memory work queue: bounded ready work, timers on the clock, due work first."""

from __future__ import annotations

import pytest

from opscore.clock import ManualClock
from opscore.errors import QueueFull
from opscore.store import MemoryWorkQueue, WorkItem


@pytest.fixture
def clock():
    return ManualClock()


def item(n: int, due: float = 0.0) -> WorkItem:
    return WorkItem("dispatch", f"r{n}", "s", 1, due)


def test_admission_beyond_capacity_raises_queue_full_and_adds_nothing(clock):
    queue = MemoryWorkQueue(2, clock)
    queue.admit([item(1)])
    queue.admit([item(2)])
    with pytest.raises(QueueFull):
        queue.admit([item(3)])
    assert queue.depth() == 2


def test_claimed_work_holds_its_slot_until_done(clock):
    queue = MemoryWorkQueue(1, clock)
    queue.admit([item(1)])
    claimed = queue.claim(0)
    with pytest.raises(QueueFull):
        queue.admit([item(2)])
    queue.done(claimed)
    queue.admit([item(2)])
    assert queue.claim(0) == item(2)


def test_follow_up_work_never_exceeds_the_bound_and_waits_for_a_slot(clock):
    queue = MemoryWorkQueue(1, clock)
    queue.admit([item(1)])
    claimed = queue.claim(0)
    queue.offer([item(2)])
    assert queue.depth() + queue.busy() == 1
    queue.done(claimed)
    assert queue.claim(0) == item(2)


def test_timers_wait_for_the_clock(clock):
    queue = MemoryWorkQueue(5, clock)
    queue.offer([item(1, due=clock.now() + 10)])
    assert queue.claim(0) is None
    assert queue.next_due() == clock.now() + 10
    clock.advance(10)
    assert queue.claim(0) == item(1, due=clock.now())


def test_due_follow_ups_take_free_slots_before_new_runs(clock):
    queue = MemoryWorkQueue(1, clock)
    queue.admit([item(1)])
    claimed = queue.claim(0)
    queue.offer([item(2)])
    queue.done(claimed)
    with pytest.raises(QueueFull):
        queue.admit([item(3)])


def test_closed_queue_hands_out_nothing(clock):
    queue = MemoryWorkQueue(1, clock)
    queue.admit([item(1)])
    queue.close()
    assert queue.claim(5) is None


def test_peak_is_the_most_items_ready_or_claimed_at_once(clock):
    queue = MemoryWorkQueue(3, clock)
    queue.admit([item(1)])
    queue.admit([item(2)])
    queue.done(queue.claim(0))
    queue.admit([item(3)])
    assert (queue.depth() + queue.busy(), queue.peak()) == (2, 2)


def test_one_claim_takes_up_to_its_limit_of_ready_items_and_their_slots(clock):
    queue = MemoryWorkQueue(3, clock)
    queue.admit([item(1), item(2), item(3)])
    assert queue.claim_many(2, 0) == [item(1), item(2)]
    assert queue.busy() == 2
    assert queue.claim_many(5, 0) == [item(3)]
    assert queue.claim_many(5, 0) == []
