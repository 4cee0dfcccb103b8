"""Clocks: the one `Clock` protocol, the system's clock, and a manual one tests drive.

Every layer reads time through an injected `Clock`; only this module and `logs.py` read
the system's time themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """Seconds since the epoch, and a way to hear that time jumped (a manual clock's advance)."""

    def now(self) -> float:
        """The current time."""
        ...

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever time moves other than by itself (queues re-check timers)."""
        ...


class SystemClock:
    """Wall-clock time in seconds since the epoch."""

    def now(self) -> float:
        """The current time."""
        return time.time()

    def on_advance(self, listener: Callable[[], None]) -> None:
        """System time advances by itself; nothing to register."""


class ManualClock:
    """A clock that moves only when `advance` is called; waiters are woken when it does."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """The current (manual) time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake everything waiting on it."""
        with self._lock:
            self._now += seconds
        for listener in list(self._listeners):
            listener()

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every advance (queues use it to re-check due timers)."""
        self._listeners.append(listener)
