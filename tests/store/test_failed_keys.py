"""Failed authentications per client on every store: one count per window, shared by every
store over the same data, each concurrent failure with a count of its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from opscore.clock import ManualClock
from opscore.store.brake import NO_FAILURES, FailureWindow
from opscore.store.memory.brake import MemoryFailedKeys
from opscore.store.sql import brake
from opscore.store.sql.schema import failed_keys
from tests.support.backends import another_store, close_store, database_url, make_store

WINDOW = 60.0


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def stores(backend, clock):
    """Two stores over the same data, as two processes have: one memory store, or two SQL
    stores on one database."""
    first = make_store(backend, clock)
    second = another_store(backend, first, clock)
    yield first, second
    close_store(first)
    close_store(second)


def fail(store, clock, client: str = "203.0.113.7") -> FailureWindow:
    return store.failed_keys.fail(client, clock.now(), WINDOW)


def test_failures_count_up_in_the_window_their_first_one_opened(stores, clock):
    first, _ = stores
    opened = clock.now()
    counts = []
    for _ in range(3):
        counts.append(fail(first, clock))
        clock.advance(10)
    assert counts == [FailureWindow(n, opened) for n in (1, 2, 3)]


def test_a_window_read_counts_nothing(stores, clock):
    first, second = stores
    fail(first, clock)
    assert second.failed_keys.window("203.0.113.7", clock.now(), WINDOW).failures == 1
    assert second.failed_keys.window("203.0.113.7", clock.now(), WINDOW).failures == 1


def test_each_store_over_the_same_data_sees_the_others_failures(stores, clock):
    first, second = stores
    counts = [fail(store, clock).failures for store in (first, second, first, second)]
    assert counts == [1, 2, 3, 4]


def test_a_failure_after_its_window_closed_opens_a_new_one(stores, clock):
    first, second = stores
    fail(first, clock)
    fail(first, clock)
    clock.advance(WINDOW)
    assert second.failed_keys.window("203.0.113.7", clock.now(), WINDOW) == NO_FAILURES
    assert fail(second, clock) == FailureWindow(1, clock.now())


def test_clients_are_counted_apart(stores, clock):
    first, _ = stores
    fail(first, clock, "203.0.113.7")
    assert fail(first, clock, "203.0.113.8").failures == 1


def test_concurrent_failures_through_two_stores_each_get_a_count_of_their_own(stores, clock):
    first, second = stores
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda n: fail((first, second)[n % 2], clock).failures, range(40)))
    assert sorted(counts) == list(range(1, 41))


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request, tmp_path, clock):
    store = make_store(database_url(request.param, tmp_path), clock)
    yield store
    close_store(store)


def test_a_sql_store_sweeps_closed_windows_away_as_it_counts(sql_store, clock, monkeypatch):
    monkeypatch.setattr(brake, "PURGE_EVERY", 2)
    fail(sql_store, clock, "203.0.113.7")
    clock.advance(WINDOW)
    fail(sql_store, clock, "203.0.113.8")
    with sql_store.engine.connect() as conn:
        clients = conn.execute(select(failed_keys.c.client)).scalars().all()
    assert clients == ["203.0.113.8"]


def test_the_memory_store_keeps_the_clients_that_failed_last(clock):
    counts = MemoryFailedKeys(clients=2)
    for client in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        counts.fail(client, clock.now(), WINDOW)
    counted = [
        counts.window(c, clock.now(), WINDOW).failures for c in ("203.0.113.1", "203.0.113.3")
    ]
    assert counted == [0, 1]
