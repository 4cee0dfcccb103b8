"""Failed authentications in a dict, for the memory store (one process counts them all)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..brake import NO_FAILURES, FailureWindow

MAX_CLIENTS = 10_000  # clients counted at once; past it the least recently failed go first


class MemoryFailedKeys:
    """One lock; the clients that failed most recently are kept."""

    def __init__(self, clients: int = MAX_CLIENTS) -> None:
        self.clients = clients
        self._windows: OrderedDict[str, FailureWindow] = OrderedDict()
        self._lock = threading.Lock()

    def window(self, client: str, now: float, length: float) -> FailureWindow:
        with self._lock:
            return self._open(client, now, length)

    def fail(self, client: str, now: float, length: float) -> FailureWindow:
        with self._lock:
            seen = self._open(client, now, length)
            counted = FailureWindow(seen.failures + 1, seen.opened if seen.failures else now)
            self._windows[client] = counted
            self._windows.move_to_end(client)
            while len(self._windows) > self.clients:
                self._windows.popitem(last=False)
            return counted

    def _open(self, client: str, now: float, length: float) -> FailureWindow:
        seen = self._windows.get(client, NO_FAILURES)
        return seen if seen.closes(length) > now else NO_FAILURES
