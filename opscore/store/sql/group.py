"""Group commit on SQLite: writes that arrive while a commit is in flight share the next one.

A thread hands its write (a function of a connection) to the group and waits. The first
waiting thread with no group in flight leads: it takes the writer lock, opens one
transaction, runs every pending write inside a SAVEPOINT of its own, commits once (one
fsync at `synchronous = FULL`) and then answers each writer. A write that raises is
rolled back to its savepoint and fails alone; the others of its group still commit. No
writer is answered before the commit that holds its write has returned, so an answer
always means the write is on disk. Across processes the writer lock orders the groups.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from ... import metrics
from .writer import WriterLock

T = TypeVar("T")
MAX_GROUP = 256  # writes in one transaction at most; the rest lead the next one


class _Write(Generic[T]):
    """One thread's write, waiting for the commit that covers it."""

    __slots__ = ("done", "error", "value", "write")

    def __init__(self, write: Callable[[Connection], T]) -> None:
        self.write = write
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value


class GroupCommit:
    """The writes of one process's threads on one SQLite file, committed in groups."""

    def __init__(self, engine: Engine, lock: WriterLock) -> None:
        self.engine = engine
        self.lock = lock
        self._reset()
        reset = weakref.WeakMethod(self._reset)
        os.register_at_fork(after_in_child=lambda: (method := reset()) and method())

    def _reset(self) -> None:
        """Start empty (in a forked child, the parent's waiters and leader are not ours)."""
        self._changed = threading.Condition()
        self._pending: list[_Write[Any]] = []
        self._leading = False

    def waiting(self) -> int:
        """Writes queued for the next group (the one in flight not counted)."""
        with self._changed:
            return len(self._pending)

    def run(self, write: Callable[[Connection], T]) -> T:
        """Run `write` in the next group's transaction; its value once that commit is durable."""
        mine: _Write[T] = _Write(write)
        with self._changed:
            self._pending.append(mine)
            while self._leading and not mine.done:
                self._changed.wait()
            if mine.done:
                return mine.result()
            self._leading = True
            group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            if mine not in group:  # pragma: no cover - only past MAX_GROUP waiters
                group.append(mine)
                self._pending.remove(mine)
        try:
            self._commit(group)
        finally:
            with self._changed:
                self._leading = False
                for write_ in group:
                    write_.done = True
                self._changed.notify_all()
        return mine.result()

    def _commit(self, group: list[_Write[Any]]) -> None:
        """One transaction for the group; a write that raises is undone to its savepoint."""
        metrics.store_group_writes.observe(len(group))
        try:
            with self.lock.held(), self.engine.begin() as conn:
                if len(group) == 1:  # alone, the transaction itself is its savepoint
                    group[0].value = group[0].write(conn)
                    return
                for write_ in group:
                    savepoint = conn.begin_nested()
                    try:
                        write_.value = write_.write(conn)
                    except Exception as error:
                        savepoint.rollback()
                        write_.error = error
                    else:
                        savepoint.commit()
        except BaseException as error:
            # The commit itself failed (or the lone write raised): nothing of the group is
            # stored, so every write that had not failed on its own fails with it.
            for write_ in group:
                if write_.error is None:
                    write_.error = error
                    write_.value = None
            if not isinstance(error, Exception):
                raise
