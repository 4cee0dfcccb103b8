"""Where instances, their histories and idempotency records live."""

from .base import Store
from .memory import MemoryStore

__all__ = ["MemoryStore", "Store"]
