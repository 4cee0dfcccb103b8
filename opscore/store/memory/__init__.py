"""The in-memory store and its work queue: one process, the test default, the fastest."""

from .queue import MemoryWorkQueue
from .store import MemoryStore

__all__ = ["MemoryStore", "MemoryWorkQueue"]
