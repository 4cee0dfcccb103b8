"""The service as `OPSCORE_*` variables configure it, for gunicorn: `opscore.wsgi:app`.

Importing this module builds the app (and, with OPSCORE_MIGRATE_ON_START, first migrates
the database); on invalid definitions or settings it names every problem on stderr and
exits with status 1 instead.
"""

from __future__ import annotations

from flask import Flask
from loguru import logger

from .api import create_app
from .apikeys import DEV_API_KEY, KeyRing
from .config import Settings
from .core import migrate_store
from .logs import configure_logging
from .startup import refuse_to_start_on_bad_setup


def build_app(settings: Settings) -> Flask:
    """The Flask app for `settings`, after migrating the database when they ask for it."""
    configure_logging(settings.log_level, settings.log_format)
    if KeyRing.from_settings(settings).development:  # the first line, before any migration
        logger.warning(
            "OPSCORE_API_KEYS is empty: accepting the development key {key} on loopback only",
            key=DEV_API_KEY,
        )
    if settings.migrate_on_start:
        migrated = migrate_store(settings)
        if migrated is not None:
            before, after = migrated
            logger.info(
                "database schema: {before} -> {after}", before=before or "empty", after=after
            )
    return create_app(settings)


with refuse_to_start_on_bad_setup():
    app = build_app(Settings.from_env())
