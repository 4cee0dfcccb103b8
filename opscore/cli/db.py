"""`opscore db`: migrate the SQL store's schema."""

from __future__ import annotations

from typing import Any

import click

from ..config import Settings
from ..startup import refuse_to_start_on_bad_setup
from .output import echo_json
from .remote import json_option

IN_MEMORY = "OPSCORE_DATABASE_URL is memory://: no schema to migrate"


def _engine(as_json: bool) -> Any:
    """The SQL engine to inspect, or None for the in-memory store."""
    from ..store.sql import connect

    settings = Settings.from_env()
    if settings.in_memory:
        _in_memory(as_json)
        return None
    return connect(settings.database_url, settings.sqlite_synchronous)


@click.group()
def db() -> None:
    """Manage the SQL store named by OPSCORE_DATABASE_URL."""


def _in_memory(as_json: bool) -> None:
    if as_json:
        echo_json({"store": "memory", "migrated": False})
    else:
        click.echo(IN_MEMORY)


@db.command()
@json_option
def upgrade(as_json: bool) -> None:
    """Create or migrate the schema to the newest revision (safe to repeat)."""
    from ..core import migrate_store  # the whole service: imported only when it is needed

    with refuse_to_start_on_bad_setup():
        migrated = migrate_store(Settings.from_env())
    if migrated is None:
        _in_memory(as_json)
        return
    before, after = migrated
    if as_json:
        echo_json({"store": "sql", "migrated": True, "before": before, "after": after})
        return
    click.echo(f"database schema: {before or 'empty'} -> {after}")


@db.command()
@json_option
def current(as_json: bool) -> None:
    """Print the schema revision the database is at, and the newest one."""
    from ..store.migrations import current as revision
    from ..store.migrations import head

    engine = _engine(as_json)
    if engine is None:
        return
    at, newest = revision(engine), head()
    engine.dispose()
    if as_json:
        echo_json({"store": "sql", "current": at, "head": newest, "up_to_date": at == newest})
        return
    click.echo(f"at {at or 'nothing'}; newest {newest}")
