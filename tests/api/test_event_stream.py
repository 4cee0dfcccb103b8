"""`GET /v1/events/stream`: every transition, in order, filtered, resumable, bounded."""

from __future__ import annotations

import json
import time

import pytest

from opscore.api import create_app
from opscore.core import OpsCore
from opscore.services.stream import StreamLimits
from opscore.store import MemoryStore
from tests.support.constants import API_KEY, AUTH

READ_DEADLINE = 10.0


def parse(block: str) -> tuple[str, dict | None, str | None] | None:
    """One SSE block as (event type, data, id); None for comments and the retry hint."""
    fields = dict(
        line.split(": ", 1)
        for line in block.splitlines()
        if ": " in line and not line.startswith(":")
    )
    if "event" not in fields:
        return None
    return fields["event"], json.loads(fields.get("data", "null")), fields.get("id")


def events_of(response, count: int, on_start=None) -> list:
    """The first `count` events of a streaming response (or fewer at the deadline)."""
    events, buffer, started = [], "", False
    deadline = time.monotonic() + READ_DEADLINE
    try:
        for chunk in response.response:
            if not started and on_start is not None:
                on_start()
            started = True
            buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                event = parse(block)
                if event is not None:
                    events.append(event)
            if len(events) >= count or time.monotonic() > deadline:
                return events[:count]
    finally:
        response.close()
    return events


@pytest.fixture(autouse=True)
def quick_keepalive(app):
    app.extensions["opscore.stream_limits"] = StreamLimits(keepalive=0.02)


def open_stream(client, query: str = "", last_event_id: int | None = None):
    headers = dict(AUTH)
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    response = client.get(f"/v1/events/stream{query}", headers=headers, buffered=False)
    assert (response.status_code, response.mimetype) == (200, "text/event-stream")
    return response


@pytest.fixture
def agents(core):
    for agent_id in ("a1", "a2"):
        core.agents.register(agent_id=agent_id)
    core.agents.fire_event("a1", "activate")
    core.agents.fire_event("a2", "fail", {"error": "boom"})
    core.agents.fire_event("a1", "complete")
    return core


def test_stream_replays_after_last_event_id_in_commit_order(client, agents):
    events = events_of(open_stream(client, last_event_id=0), 3)
    assert [(kind, data["instance_id"], data["event"]) for kind, data, _ in events] == [
        ("transition", "a1", "activate"),
        ("transition", "a2", "fail"),
        ("transition", "a1", "complete"),
    ]
    ids = [int(event_id) for _, _, event_id in events]
    assert ids == sorted(ids)
    assert [data["gid"] for _, data, _ in events] == ids
    first = events[0][1]
    assert {k: first[k] for k in ("kind", "agent_id", "machine", "seq", "source", "dest")} == {
        "kind": "agent",
        "agent_id": "a1",
        "machine": "agent",
        "seq": 1,
        "source": "idle",
        "dest": "active",
    }


def test_stream_delivers_new_transitions_as_they_happen(client, agents):
    response = open_stream(client)
    events = events_of(response, 1, on_start=lambda: agents.agents.fire_event("a1", "terminate"))
    assert [(data["instance_id"], data["event"]) for _, data, _ in events] == [("a1", "terminate")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?agent_id=a2", [("a2", "fail")]),
        ("?kind=session", [("s", "start")]),
        ("?machine=session", [("s", "start")]),
    ],
)
def test_stream_filters(client, agents, query, expected):
    session = agents.sessions.open("a1")
    agents.sessions.fire_event(session.id, "start")
    events = events_of(open_stream(client, query, last_event_id=0), len(expected))
    seen = [
        ("s" if data["kind"] == "session" else data["instance_id"], data["event"])
        for _, data, _ in events
    ]
    assert seen == expected


def test_resuming_with_last_event_id_neither_repeats_nor_skips(client, agents):
    first = events_of(open_stream(client, last_event_id=0), 2)
    rest = events_of(open_stream(client, last_event_id=int(first[-1][2])), 1)
    assert [data["event"] for _, data, _ in first + rest] == ["activate", "fail", "complete"]


def test_resuming_past_the_retention_window_says_events_were_lost(definitions, callbacks):
    core = OpsCore(definitions, MemoryStore(feed_retention=2), callbacks)
    core.agents.register(agent_id="a1")
    for event in ("activate", "complete", "activate"):
        core.agents.fire_event("a1", event)
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)
    app.extensions["opscore.stream_limits"] = StreamLimits(keepalive=0.02)
    events = events_of(open_stream(app.test_client(), last_event_id=0), 3)
    assert events[0][:2] == ("gap", {"requested": 1, "oldest": 2})
    assert [data["seq"] for kind, data, _ in events[1:]] == [2, 3]


def test_a_client_too_far_behind_is_dropped_with_a_final_event(app, client, agents):
    app.extensions["opscore.stream_limits"] = StreamLimits(keepalive=0.02, max_lag=0, batch=1)
    events = events_of(open_stream(client, last_event_id=0), 5)
    assert [kind for kind, _, _ in events] == ["transition", "dropped"]
    assert events[1][1]["last_event_id"] == int(events[0][2])


def test_streams_past_the_limit_are_refused_with_503(definitions, callbacks):
    core = OpsCore(definitions, MemoryStore(), callbacks)
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING", "max_streams": 1}, core=core)
    client = app.test_client()
    first = open_stream(client)
    busy = client.get("/v1/events/stream", headers=AUTH)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "5")
    first.close()
    open_stream(client).close()


@pytest.mark.parametrize("value", ["abc", "-1", "1" * 19])
def test_a_malformed_last_event_id_is_422(client, value):
    response = client.get("/v1/events/stream", headers={**AUTH, "Last-Event-ID": value})
    assert response.status_code == 422


def test_a_stream_of_an_unknown_run_is_404(client):
    response = client.get("/v1/events/stream?run_id=nope", headers=AUTH)
    assert (response.status_code, response.json["message"]) == (404, "run 'nope' not found")
