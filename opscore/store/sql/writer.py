"""One SQLite writer at a time, handed on at once instead of through SQLite's busy sleeps.

SQLite's busy handler retries a locked `BEGIN IMMEDIATE` after sleeps of 1, 2, 5, 10 ...
up to 100 ms, so with a few writers the lock sits idle for most of the wait: a write
that takes a millisecond can wait a hundred. Writers of one process queue on a thread
lock; writers of different processes then meet at an advisory `flock` on a file beside
the database, polled in steps of at most a quarter of a millisecond. The kernel drops the
file lock when a process dies, so a crashed writer never blocks the others.

SQLite's own lock still guards the data: a writer that does not use this class (another
tool, a migration) is waited for by the busy handler as before.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from ...errors import StoreBusy

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: processes meet in SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

FIRST_WAIT = 0.00005
# A longer step leaves the lock idle between two processes' groups (docs/benchmarks.md).
LONGEST_WAIT = 0.00025


class WriterLock:
    """Serialises write transactions on one SQLite file, across threads and processes."""

    def __init__(self, database: str | None, timeout: float) -> None:
        self.timeout = timeout
        self._path = f"{database}.writer" if database and database != ":memory:" else None
        self._close = weakref.finalize(self, lambda: None)
        self._open()
        reopen = weakref.WeakMethod(self._open)
        os.register_at_fork(after_in_child=lambda: (method := reopen()) and method())

    def _open(self) -> None:
        """Take a lock and a file of our own (a forked child shares its parent's file).

        Runs at start and, through `register_at_fork`, in a child before it has threads.
        """
        self._close()  # in a child: the parent's file, or the parent's lock outlives it
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        if fcntl is not None and self._path is not None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._close = weakref.finalize(self, os.close, self._fd)

    @contextmanager
    def held(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise StoreBusy(self.timeout)
        try:
            self._lock_file(deadline)
            try:
                yield
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _lock_file(self, deadline: float) -> None:
        if self._fd is None:
            return
        wait = FIRST_WAIT
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(self.timeout) from None
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)
