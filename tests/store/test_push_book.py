"""The push book, on every backend: push targets, deliveries and webhook receipts (a receipt
is recorded once; a replay within its time is told apart)."""

from __future__ import annotations

import pytest

from opscore.clock import ManualClock
from opscore.store.push import DELIVERIES_KEPT, Delivery, DeliveryStatus, PushTarget
from tests.support.backends import close_store, make_store


@pytest.fixture
def book(backend):
    store = make_store(backend, ManualClock())
    yield store.push
    close_store(store)


def delivery(task_id: str, status=DeliveryStatus.PENDING, at: float = 100.0, attempts=1):
    return Delivery(task_id, "run", "ask", "a1", "https://x.example/", status, attempts, None, at)


def test_a_push_target_is_kept_replaced_and_dropped(book):
    book.put_target(PushTarget("a1", "https://one.example/", "s1", 1.0))
    book.put_target(PushTarget("a1", "https://two.example/", "s2", 2.0))

    assert book.target("a1") == PushTarget("a1", "https://two.example/", "s2", 2.0)
    book.drop_target("a1")
    book.drop_target("a1")  # nothing to drop: no error
    assert book.target("a1") is None


def test_a_push_target_never_shows_its_secret_in_its_repr():
    assert "s3cret" not in repr(PushTarget("a1", "https://x.example/", "s3cret", 1.0))


def test_a_delivery_is_replaced_by_its_next_state_and_listed_newest_first(book):
    book.save_delivery(delivery("t1", at=100.0))
    book.save_delivery(delivery("t2", at=101.0))
    book.save_delivery(delivery("t1", DeliveryStatus.UNDELIVERABLE, at=102.0, attempts=3))

    assert book.delivery("t1").attempts == 3
    assert [d.task_id for d in book.deliveries()] == ["t1", "t2"]
    assert [d.task_id for d in book.deliveries(DeliveryStatus.UNDELIVERABLE)] == ["t1"]
    assert [d.task_id for d in book.deliveries(DeliveryStatus.PENDING)] == ["t2"]
    assert book.deliveries(limit=1) == [book.delivery("t1")]


def test_settled_deliveries_are_forgotten_after_their_time(book):
    book.save_delivery(delivery("old", DeliveryStatus.DELIVERED, at=100.0))
    book.save_delivery(delivery("new", at=100.0 + DELIVERIES_KEPT + 1))

    assert book.delivery("old") is None
    assert book.delivery("new") is not None


def test_a_receipt_is_recorded_once_until_it_expires(book):
    assert book.receive_once("k", now=1000.0, keep=600.0) is True
    assert book.receive_once("k", now=1300.0, keep=600.0) is False
    assert book.receive_once("other", now=1300.0, keep=600.0) is True
    assert book.receive_once("k", now=1601.0, keep=600.0) is True
