"""SQLite writers queue on `WriterLock`: across threads, processes, forks and crashes."""

from __future__ import annotations

import os
import threading

import pytest

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.errors import StoreBusy
from opscore.store.sql import engine as sql_engine
from opscore.store.sql.writer import WriterLock
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH

SHORT = 0.02  # how long a refused writer waits before giving up


@pytest.fixture
def database(tmp_path):
    return str(tmp_path / "opscore.db")


def can_write(lock: WriterLock) -> bool:
    try:
        with lock.held():
            return True
    except StoreBusy:
        return False


def child_exit_code(body) -> int:
    """Fork, run `body` in the child, and return the exit code it reported."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = body()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_second_thread_waits_for_the_writer_and_gives_up_with_store_busy(database):
    lock = WriterLock(database, SHORT)
    outcome = []

    def second_writer():
        try:
            with lock.held():
                outcome.append("wrote")
        except StoreBusy as error:
            outcome.append(error.message)

    with lock.held():
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join()
    assert outcome == [f"the store stayed busy for {SHORT:g} s; retry later"]


def test_writers_on_separate_handles_exclude_each_other_through_the_file(database):
    first, second = WriterLock(database, SHORT), WriterLock(database, SHORT)
    with first.held():
        assert not can_write(second)
    assert can_write(second)
    assert os.path.exists(f"{database}.writer")


def test_a_parent_and_its_forked_child_exclude_each_other(database):
    lock = WriterLock(database, SHORT)  # made before the fork, as gunicorn's master does
    child_holds, parent_checked = os.pipe(), os.pipe()

    def write_until_told() -> int:
        with lock.held():
            os.write(child_holds[1], b"x")
            os.read(parent_checked[0], 1)
        return 0

    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os._exit(write_until_told())
    os.read(child_holds[0], 1)
    parent_could_write = can_write(lock)
    os.write(parent_checked[1], b"x")
    os.waitpid(pid, 0)
    assert not parent_could_write
    assert can_write(lock)


def test_a_writer_that_dies_holding_the_lock_does_not_block_the_others(database):
    def die_while_writing() -> int:
        WriterLock(database, SHORT).held().__enter__()
        return 0  # exits with the lock still held

    assert child_exit_code(die_while_writing) == 0
    assert can_write(WriterLock(database, SHORT))


def test_an_in_memory_database_needs_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert can_write(WriterLock(":memory:", SHORT))
    assert list(tmp_path.iterdir()) == []


def test_a_write_the_store_cannot_take_in_time_is_a_503_that_changes_nothing(
    tmp_path, monkeypatch, definitions, callbacks
):
    monkeypatch.setattr(sql_engine, "SQLITE_BUSY_TIMEOUT", SHORT)
    store = make_store(f"sqlite:///{tmp_path / 'opscore.db'}", ManualClock())
    app = create_app(
        {"api_keys": API_KEY, "log_level": "WARNING"}, core=OpsCore(definitions, store, callbacks)
    )
    client = app.test_client()
    with WriterLock(str(tmp_path / "opscore.db"), SHORT).held():
        busy = client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    after = client.get("/v1/agents", headers=AUTH)
    close_store(store)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "1")
    assert busy.json["message"] == f"the store stayed busy for {SHORT:g} s; retry later"
    assert after.json == []
