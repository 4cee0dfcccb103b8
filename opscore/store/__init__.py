"""Where instances, their histories, idempotency records and queued work live."""

from .base import Store
from .memory import MemoryStore, MemoryWorkQueue
from .work import WorkItem, WorkKind, WorkQueue

__all__ = ["MemoryStore", "MemoryWorkQueue", "Store", "WorkItem", "WorkKind", "WorkQueue"]
