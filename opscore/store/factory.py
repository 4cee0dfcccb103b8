"""Choosing the store from `OPSCORE_DATABASE_URL`: `memory://`, SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, Settings
from ..queue import MemoryWorkQueue
from .memory import MemoryStore

MEMORY_URL = "memory://"


def open_store(settings: Settings, clock: Any) -> Any:
    """The store `settings.database_url` names; a SQL one must be migrated to the newest schema."""
    if settings.database_url == MEMORY_URL:
        queue = MemoryWorkQueue(settings.queue_capacity, clock)
        return MemoryStore(settings.history_cap, settings.idempotency_ttl, clock, queue)
    from .migrations import current, head
    from .sql import SqlStore, connect

    try:
        engine = connect(settings.database_url, settings.sqlite_synchronous)
    except Exception as error:  # a malformed URL or a missing driver
        raise ConfigError(f"OPSCORE_DATABASE_URL: {error}") from None
    at, newest = current(engine), head()
    if at != newest:
        engine.dispose()
        raise ConfigError(
            f"the database schema is at {at or 'nothing'}, not {newest}: "
            "run `opscore db upgrade` (make run does)"
        )
    return SqlStore(
        engine, settings.history_cap, settings.idempotency_ttl, clock, settings.queue_capacity
    )


def migrate_store(settings: Settings) -> tuple[str | None, str] | None:
    """Bring the SQL store's schema to the newest revision: (revision before, after).

    Safe to repeat; None for `memory://`, which has no schema.
    """
    if settings.database_url == MEMORY_URL:
        return None
    from .migrations import current, head, upgrade
    from .sql import connect

    try:
        engine = connect(settings.database_url, settings.sqlite_synchronous)
    except Exception as error:  # a malformed URL or a missing driver
        raise ConfigError(f"OPSCORE_DATABASE_URL: {error}") from None
    try:
        before = current(engine)
        upgrade(engine)
        return before, head()
    finally:
        engine.dispose()
