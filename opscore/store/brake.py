"""Failed authentications per client, kept with the store so every process counts the same
failures: the failed-key brake of the API reads and adds to one count per client address.

A client's failures are counted in a fixed window that opens with its first failure and
lasts `length` seconds; a failure after the window closed opens a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FailureWindow:
    """A client's failed authentications in its current window: how many, and since when."""

    failures: int
    opened: float

    def closes(self, length: float) -> float:
        """When this window closes and the client's count starts again from nothing."""
        return self.opened + length


NO_FAILURES = FailureWindow(0, 0.0)


class FailedKeys(Protocol):
    """What the failed-key brake needs of the store."""

    def window(self, client: str, now: float, length: float) -> FailureWindow:
        """The client's open window (NO_FAILURES when it has none open at `now`)."""
        ...

    def fail(self, client: str, now: float, length: float) -> FailureWindow:
        """Count one failure of the client, in its open window or in one opened `now`."""
        ...
