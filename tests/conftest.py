"""Shared fixtures: definitions from `machines/`, a fresh callback registry, a core on every
backend; the plugins in tests/support add the service and workflow fixtures."""

from __future__ import annotations

import io
import json

import pytest

from opscore.callbacks import builtin_callbacks
from opscore.clock import SystemClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from opscore.logs import configure_logging

from .support.backends import BACKENDS, close_store, database_url, make_store
from .support.constants import API_KEY, MACHINES

pytest_plugins = ("tests.support.service", "tests.support.workflows")


@pytest.fixture
def callbacks():
    """A registry with only the built-in callbacks, private to the test."""
    return builtin_callbacks()


@pytest.fixture
def definitions(callbacks):
    """The shipped definitions, loaded into a fresh registry."""
    registry = DefinitionRegistry()
    registry.load([MACHINES], callbacks)
    return registry


@pytest.fixture(autouse=True)
def _in_memory_by_default(monkeypatch):
    """Nothing a test starts writes a database into the project unless it asks to."""
    monkeypatch.setenv("OPSCORE_DATABASE_URL", "memory://")


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """The database URL of one backend: memory://, a SQLite file, or PostgreSQL."""
    return database_url(request.param, tmp_path)


@pytest.fixture
def core(definitions, callbacks, backend):
    """An OpsCore over the shipped definitions and an empty store of each backend."""
    store = make_store(backend, SystemClock(), history_cap=50)
    yield OpsCore(definitions, store, callbacks)
    close_store(store)


@pytest.fixture
def json_logs():
    """Configure JSON logging into a buffer; yields a function returning the parsed lines."""
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    configure_logging("WARNING", "text", stream=io.StringIO())


@pytest.fixture
def app(core):
    """The Flask app over the `core` fixture, accepting the key in AUTH."""
    from opscore.api import create_app

    return create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)
