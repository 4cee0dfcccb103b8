"""The API suites run over the in-memory store (the store suites cover the others)."""

from __future__ import annotations

import pytest

from opscore.core import OpsCore
from opscore.store import MemoryStore


@pytest.fixture
def core(definitions, callbacks):
    """An OpsCore over the shipped definitions and an empty in-memory store."""
    return OpsCore(definitions, MemoryStore(history_cap=50), callbacks)
