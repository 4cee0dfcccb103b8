"""Retriers and catchers with AWS Step Functions semantics.

Retriers are checked in order; the first whose `errors` match the error decides. Each
retrier counts its own attempts. Only when no retrier applies (or its attempts are
spent) are catchers checked, in order. `ALL` matches every error and must stand alone,
in the last retrier or catcher.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ALL = "ALL"
# Errors Ops-Core itself raises; task types add their own (Http.ServerError, ...).
TIMEOUT = "States.Timeout"
TASK_FAILED = "States.TaskFailed"
PATH_FAILURE = "States.ParameterPathFailure"
INVALID_OUTPUT = "States.InvalidOutput"
WORKER_LOST = "States.WorkerLost"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"  # a task's holder sent no heartbeat in its lease


def matches(patterns: Sequence[str], error: str) -> bool:
    """Whether an `errors` list matches an error name."""
    return ALL in patterns or error in patterns


@dataclass(frozen=True)
class Retrier:
    """One retry rule."""

    errors: tuple[str, ...]
    interval: float = 1.0
    backoff_rate: float = 2.0
    max_attempts: int = 3
    max_delay: float | None = None
    jitter: str = "none"

    def delay(self, retries_so_far: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retries_so_far + 1`."""
        delay = self.interval * self.backoff_rate**retries_so_far
        if self.max_delay is not None:
            delay = min(delay, self.max_delay)
        if self.jitter == "full":
            delay = rng.uniform(0, delay)
        return delay


@dataclass(frozen=True)
class Catcher:
    """Where a run goes when an error is not (or no longer) retried."""

    errors: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class Decision:
    """What to do after a failed attempt: retry after `delay`, go to `catch`, or fail."""

    retrier: int | None = None
    delay: float = 0.0
    catch: str | None = None


def decide(
    error: str,
    retriers: Sequence[Retrier],
    catchers: Sequence[Catcher],
    retries_used: Mapping[int, int],
    rng: random.Random,
) -> Decision:
    """Step Functions' order: the first matching retrier with attempts left, else a catcher."""
    for index, retrier in enumerate(retriers):
        if matches(retrier.errors, error):
            used = retries_used.get(index, 0)
            if used < retrier.max_attempts:
                return Decision(retrier=index, delay=retrier.delay(used, rng))
            break
    for catcher in catchers:
        if matches(catcher.errors, error):
            return Decision(catch=catcher.next)
    return Decision()
