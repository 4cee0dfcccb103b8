"""`opscore db`: migrate the SQL store's schema."""

from __future__ import annotations

from typing import Any

import click

from ..config import Settings
from ..startup import refuse_to_start_on_bad_setup

IN_MEMORY = "OPSCORE_DATABASE_URL is memory://: no schema to migrate"


def _engine() -> Any:
    """The SQL engine to inspect, or None for the in-memory store."""
    from ..store.sql import connect

    settings = Settings.from_env()
    if settings.in_memory:
        click.echo(IN_MEMORY)
        return None
    return connect(settings.database_url, settings.sqlite_synchronous)


@click.group()
def db() -> None:
    """Manage the SQL store named by OPSCORE_DATABASE_URL."""


@db.command()
def upgrade() -> None:
    """Create or migrate the schema to the newest revision (safe to repeat)."""
    from ..core import migrate_store  # the whole service: imported only when it is needed

    with refuse_to_start_on_bad_setup():
        migrated = migrate_store(Settings.from_env())
    if migrated is None:
        click.echo(IN_MEMORY)
        return
    before, after = migrated
    click.echo(f"database schema: {before or 'empty'} -> {after}")


@db.command()
def current() -> None:
    """Print the schema revision the database is at, and the newest one."""
    from ..store.migrations import current as revision
    from ..store.migrations import head

    engine = _engine()
    if engine is None:
        return
    click.echo(f"at {revision(engine) or 'nothing'}; newest {head()}")
    engine.dispose()
