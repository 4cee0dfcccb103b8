"""Where instances, their histories and idempotency records live."""

from .base import Store
from .memory import MemoryStore
from .records import IdempotencyRecord, Instance, Page, Query, TransitionRecord

__all__ = [
    "IdempotencyRecord",
    "Instance",
    "MemoryStore",
    "Page",
    "Query",
    "Store",
    "TransitionRecord",
]
