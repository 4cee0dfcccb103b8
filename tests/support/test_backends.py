"""The PostgreSQL suites start from an empty database, whatever an earlier run left in it."""

from __future__ import annotations

from sqlalchemy import inspect, text

from opscore.store.sql import connect
from tests.support.backends import database_url, reset_postgres


def test_the_postgres_reset_drops_every_table_ours_or_not(tmp_path):
    url = database_url("postgresql", tmp_path)
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS left_behind (id integer PRIMARY KEY)"))
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS left_child (parent integer REFERENCES left_behind)")
        )

    reset_postgres(url)

    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
