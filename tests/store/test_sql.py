"""What only the SQL store does: migrations, leases, two processes sharing one database."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from opscore.cli import main
from opscore.clock import ManualClock
from opscore.config import ConfigError, Settings
from opscore.core import open_store
from opscore.model import Instance
from opscore.store import WorkItem
from opscore.store.migrations import current, head
from opscore.store.sql import SqlStore, SqlWorkQueue, connect
from opscore.store.sql.schema import metadata
from tests.support.backends import close_store, database_url, make_store


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request, tmp_path):
    return database_url(request.param, tmp_path)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(sql_url, clock):
    store = make_store(sql_url, clock, capacity=10)
    yield store
    close_store(store)


def test_migrations_create_exactly_the_schema_the_code_uses(store):
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert current(store.engine) == head()


def test_db_upgrade_command_migrates_an_empty_database_and_is_safe_to_repeat(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("OPSCORE_DATABASE_URL", url)
    first = CliRunner().invoke(main, ["db", "upgrade"])
    again = CliRunner().invoke(main, ["db", "upgrade"])
    assert (first.exit_code, first.output) == (0, f"database schema: empty -> {head()}\n")
    assert (again.exit_code, again.output) == (0, f"database schema: {head()} -> {head()}\n")


def test_an_unmigrated_database_is_refused_with_what_to_run(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(ConfigError, match="run `opscore db upgrade`"):
        open_store(settings, ManualClock())


def test_a_claimed_item_is_not_handed_out_again_while_its_lease_lasts(store, clock):
    store.queue.offer([WorkItem("dispatch", "r1", "s", 1, clock.now())])
    claimed = store.queue.claim(0)
    other = SqlWorkQueue(store.engine, 10, clock)
    assert other.claim(0) is None
    assert claimed.redelivered is False


def test_an_expired_lease_is_redelivered_and_marked_so(store, clock):
    store.queue.offer([WorkItem("dispatch", "r1", "s", 1, clock.now())])
    lost = store.queue.claim(0)
    clock.advance(store.queue.lease + 1)
    other = SqlWorkQueue(store.engine, 10, clock)
    again = other.claim(0)
    assert (again, again.redelivered) == (lost, True)
    store.queue.done(lost)
    assert other.depth() == 0
    other.done(again)
    assert other.next_due() is None


def test_renewed_leases_keep_an_item_from_being_redelivered(store, clock):
    store.queue.offer([WorkItem("dispatch", "r1", "s", 1, clock.now())])
    held = store.queue.claim(0)
    clock.advance(store.queue.lease - 1)
    store.queue.renew([held])
    clock.advance(2)
    assert SqlWorkQueue(store.engine, 10, clock).claim(0) is None


def test_two_queues_claim_different_items(store, clock):
    store.queue.offer([WorkItem("dispatch", f"r{n}", "s", 1, clock.now()) for n in range(2)])
    other = SqlWorkQueue(store.engine, 10, clock)
    first, second = store.queue.claim(0), other.claim(0)
    assert {first.run_id, second.run_id} == {"r0", "r1"}


def test_two_stores_on_one_database_see_each_others_writes(sql_url, clock):
    first = make_store(sql_url, clock)
    second = SqlStore(connect(sql_url), clock=clock)
    first.insert(
        Instance(id="a1", kind="agent", machine="agent", version=1, state="idle", created_at=1.0)
    )
    assert second.get("agent", "a1").state == "idle"
    close_store(first)
    close_store(second)


def test_db_upgrade_and_current_json_print_the_revisions(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSCORE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    upgraded = CliRunner().invoke(main, ["db", "upgrade", "--json"])
    at = CliRunner().invoke(main, ["db", "current", "--json"])
    assert json.loads(upgraded.output) == {
        "store": "sql",
        "migrated": True,
        "before": None,
        "after": head(),
    }
    assert json.loads(at.output) == {
        "store": "sql",
        "current": head(),
        "head": head(),
        "up_to_date": True,
    }


def test_one_claim_leases_up_to_its_limit_of_due_items_oldest_first(store, clock):
    store.queue.offer([WorkItem("dispatch", f"r{n}", "s", 1, clock.now() + n) for n in range(5)])
    clock.advance(5)
    claimed = store.queue.claim_many(3, 0)
    assert [item.run_id for item in claimed] == ["r0", "r1", "r2"]
    other = SqlWorkQueue(store.engine, 10, clock)
    assert [item.run_id for item in other.claim_many(10, 0)] == ["r3", "r4"]
    assert other.claim_many(10, 0) == []
