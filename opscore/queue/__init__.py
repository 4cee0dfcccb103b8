"""The work queue: bounded ready work plus timers, drained by workers."""

from .base import WorkItem, WorkQueue
from .memory import MemoryWorkQueue

__all__ = ["MemoryWorkQueue", "WorkItem", "WorkQueue"]
