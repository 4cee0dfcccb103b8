"""Work items and the queue protocol that the memory and SQL queues implement.

The queue lives with the store because follow-up work is queued in the same atomic
commit as the change that caused it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ..clock import Clock


class WorkKind(StrEnum):
    """What a work item asks a worker to do for its run."""

    DISPATCH = "dispatch"  # run a step attempt (also used for retries, due later)
    RESUME = "resume"  # a sleeping step's delay is over
    STEP_TIMEOUT = "step_timeout"  # a step attempt ran out of time
    RUN_TIMEOUT = "run_timeout"  # the whole run ran out of time
    START_CHILD = "start_child"  # a workflow step's attempt starts its child run
    CHILD_DONE = "child_done"  # a child run ended: its parent's step settles
    CANCEL_RUN = "cancel_run"  # cancel a run (a child its parent no longer waits for)
    TASK_LEASE = "task_lease"  # a task's claim may have lapsed: look, and act
    PUSH_TASK = "push_task"  # POST a task to its agent's endpoint (opscore/push)


@dataclass(frozen=True)
class WorkItem:
    """One unit of work for a run; stale items (the run moved on) are dropped by the runner."""

    kind: WorkKind
    run_id: str
    step: str = ""
    attempt: int = 0
    due: float = 0.0
    # Set by durable queues: the row's id, and whether an earlier claim's lease ran out.
    id: int | None = field(default=None, compare=False)
    redelivered: bool = field(default=False, compare=False)


class WorkQueue(Protocol):
    """Ready work is bounded by `capacity` (queued plus being worked on); timers are not.

    `admit` refuses new work when the bound is reached (QueueFull); `offer` never
    refuses: work past the bound waits, due, until a slot frees. `owner` names this
    process's claims (a worker id), `clock` is the time due dates are read on.
    """

    capacity: int
    owner: str
    clock: Clock
    lease: float  # seconds a claim lasts unless renewed (infinite where claims hold none)

    def admit(self, items: Iterable[WorkItem]) -> None: ...

    def offer(self, items: Iterable[WorkItem]) -> None: ...

    def claim(self, timeout: float, stop: threading.Event | None = None) -> WorkItem | None: ...

    def claim_many(
        self, limit: int, timeout: float, stop: threading.Event | None = None
    ) -> list[WorkItem]:
        """Up to `limit` items claimed at once (one round trip on a SQL queue); [] on timeout."""
        ...

    def done(self, item: WorkItem) -> None: ...

    def keeping(self) -> AbstractContextManager[list[WorkItem]]:
        """A block in which this thread's commits may queue its next item already claimed by
        it: the block yields the list of such items, for the thread to carry out next
        (SQL queues, where a claim is a round trip; in memory it stays empty)."""
        ...

    def release(self, item: WorkItem, delay: float) -> None:
        """Give back a claimed item whose processing failed, to be claimed again (as a
        redelivery) after `delay` seconds: a failure never loses work."""
        ...

    def renew(self, items: Iterable[WorkItem]) -> None: ...

    def holder_stalled(self, item: WorkItem) -> bool:
        """Whether the step attempt `item` names is claimed by a worker that stopped
        renewing its claim: the worker died, though its lease has not run out yet."""
        ...

    def wake(self) -> None: ...

    def close(self) -> None: ...

    def depth(self) -> int: ...

    def next_due(self) -> float | None: ...
