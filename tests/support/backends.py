"""Stores for the suites that run against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import MetaData

from opscore.store import MemoryStore, MemoryWorkQueue
from opscore.store.migrations import upgrade
from opscore.store.sql import SqlStore, connect

BACKENDS = ["memory", "sqlite", "postgresql"]
POSTGRES_ENV = "OPSCORE_TEST_DATABASE_URL"


def database_url(backend: str, tmp_path: Any) -> str:
    """The URL a test of `backend` uses (PostgreSQL ones skip unless the env var is set)."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'opscore.db'}"
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is unset: the PostgreSQL tests need a server to talk to")
    return url


def reset_postgres(url: str) -> None:
    """Drop every table the database holds, ours or not (one an older schema, or another
    suite, left behind goes too), so the test starts from an empty database to migrate."""
    engine = connect(url)
    with engine.begin() as conn:
        found = MetaData()
        found.reflect(conn)
        found.drop_all(conn)
    engine.dispose()


def make_store(url: str, clock: Any, *, capacity: int = 1000, history_cap: int = 1000) -> Any:
    """A migrated, empty store for `url`."""
    if url == "memory://":
        return MemoryStore(
            history_cap=history_cap, clock=clock, queue=MemoryWorkQueue(capacity, clock)
        )
    if url.startswith("postgres"):
        reset_postgres(url)
    engine = connect(url)
    upgrade(engine)
    return SqlStore(engine, history_cap=history_cap, clock=clock, queue_capacity=capacity)


def another_store(url: str, store: Any, clock: Any) -> Any:
    """A store over the same data as `store`, as another process has: the memory store
    itself (its data lives in it), or a second SQL store on the same database."""
    return store if url == "memory://" else SqlStore(connect(url), clock=clock)


def close_store(store: Any) -> None:
    """Release a store's connections."""
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose()
