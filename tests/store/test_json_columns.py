"""The SQL store's JSON columns: written by orjson, with the standard library for what
orjson refuses, so every value the standard encoder took still round-trips."""

from __future__ import annotations

import datetime
import json
import math

import pytest
from sqlalchemy import text

from opscore.clock import ManualClock
from opscore.model import Instance
from opscore.store.sql import jsoncolumns
from tests.support.backends import close_store, database_url, make_store

HUGE = 2**70  # past orjson's 64 bits


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    store = make_store(database_url(request.param, tmp_path), ManualClock())
    yield store
    close_store(store)


def agent(**changes) -> Instance:
    fields = {"id": "a1", "kind": "agent", "machine": "agent", "version": 1, "state": "idle"}
    return Instance(**{**fields, "created_at": 1.0, **changes})


def test_values_orjson_refuses_are_written_by_the_standard_encoder(store):
    metadata = {"huge": HUGE, "text": "é ☃", "nested": [1, 2.5, None, {"k": True}]}
    store.insert(agent(metadata=metadata))
    assert store.get("agent", "a1").metadata == metadata


def test_keys_that_are_not_strings_are_written_as_the_standard_encoder_did(store):
    store.insert(agent(context={"steps": {1: "one"}}))
    assert store.get("agent", "a1").context == {"steps": {"1": "one"}}


def test_a_nan_written_by_the_standard_encoder_is_still_read(tmp_path):
    # Earlier versions wrote JSON with Python's encoder, which SQLite kept as `NaN`.
    store = make_store(database_url("sqlite", tmp_path), ManualClock())
    try:
        store.insert(agent())
        with store.engine.begin() as conn:
            conn.execute(text("""UPDATE instances SET context = '{"x": NaN}'"""))
        assert math.isnan(store.get("agent", "a1").context["x"])
    finally:
        close_store(store)


def test_what_no_encoder_can_write_is_refused_as_before():
    with pytest.raises(TypeError):
        jsoncolumns.dumps({"at": datetime.datetime(2026, 12, 3)})


def test_the_text_written_is_json_any_reader_takes():
    assert json.loads(jsoncolumns.dumps({"a": [1, "é"], "b": HUGE})) == {"a": [1, "é"], "b": HUGE}
