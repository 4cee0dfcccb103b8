"""Property: whatever a client sends to a write endpoint, the answer is never a 5xx, never
carries a traceback, and a refused (4xx) request changes nothing in the store.

Each test runs against every backend (memory, SQLite, and PostgreSQL when configured):
what one database accepts another may refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.model import Query
from tests.support import fuzz
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH

KINDS = ("agent", "session", "run")


@dataclass
class World:
    """An app over a store holding agents, a session and runs in every interesting state."""

    core: OpsCore
    client: Any
    agents: list[str]
    sessions: list[str]
    runs: list[str]


def drain(core: OpsCore) -> None:
    """Carry out every ready work item now, on this thread (no workers run here)."""
    queue = core.store.queue
    while (item := queue.claim(0)) is not None:
        try:
            core.runner.process(item)
        finally:
            queue.done(item)


@pytest.fixture
def world(definitions, callbacks, backend):
    clock = ManualClock()
    store = make_store(backend, clock, capacity=50, history_cap=50)
    core = OpsCore(definitions, store, callbacks, clock=clock)
    for agent_id in ("idle", "reviewer", "failing", "ended"):
        core.agents.register(agent_id=agent_id, capabilities=["review"])
    core.agents.fire_event("ended", "terminate")
    session = core.sessions.open("idle")
    waiting = core.runs.start("review_document", {"document": "d"}, agent_id="reviewer")
    failed = core.runs.start("review_document", {"document": "d"}, agent_id="failing")
    queued = core.runs.start("fetch_report", {"url": "http://127.0.0.1:9/"})
    drain(core)
    core.runs.fail_step(failed.id, "review", "Review.Refused", "no")
    client = create_app({"api_keys": API_KEY, "log_level": "CRITICAL"}, core=core).test_client()
    yield World(
        core,
        client,
        ["idle", "reviewer", "failing", "ended", "nobody"],
        [session.id, "no-session"],
        [waiting.id, failed.id, queued.id, "no-run"],
    )
    close_store(store)


def snapshot(core: OpsCore) -> dict:
    """Every instance and its history, the change feed's bounds and the queued work."""
    state: dict = {}
    for kind in KINDS:
        for instance in core.store.find(kind, Query(limit=10_000)).items:
            history = core.store.history(instance.id, 0, 0, 10_000).items
            state[(kind, instance.id)] = (instance, tuple(history))
    state["feed"] = core.store.feed_bounds()
    state["queue"] = (core.store.queue.depth(), core.store.queue.next_due())
    return state


def send(world: World, path: str, body: bytes, headers: dict, query: str = "") -> None:
    """POST and check the property: no 5xx, no traceback, no change on a 4xx."""
    before = snapshot(world.core)
    response = world.client.post(path, data=body, headers={**AUTH, **headers}, query_string=query)
    text = response.get_data(as_text=True)
    assert response.status_code < 500, (path, body, headers, text)
    assert "Traceback" not in text
    if response.status_code >= 400:
        assert {"code", "status", "message"} <= set(response.json), text
        assert snapshot(world.core) == before, (path, body, headers, text)


agent_bodies = fuzz.bodies(
    fuzz.shaped(
        {
            "id": fuzz.ids,
            "name": st.text(max_size=210),
            "machine": st.sampled_from(["agent", "session", "review_document", "x"]),
            "capabilities": st.lists(st.text(max_size=70), max_size=70),
            "metadata": fuzz.json_objects | fuzz.nested_objects,
        }
    )
)
event_bodies = fuzz.bodies(
    fuzz.shaped({"event": fuzz.names, "data": fuzz.json_objects | fuzz.nested_objects})
)
session_bodies = fuzz.bodies(
    fuzz.shaped({"machine": st.sampled_from(["session", "agent"]), "metadata": fuzz.json_objects})
)
run_bodies = fuzz.bodies(
    fuzz.shaped(
        {
            "input": st.fixed_dictionaries(
                {}, optional={"document": fuzz.json_values, "url": fuzz.json_values}
            ),
            "agent_id": st.sampled_from(["idle", "reviewer", "ended", "nobody"]),
        }
    )
)
complete_bodies = fuzz.bodies(fuzz.shaped({"output": fuzz.json_values}))
fail_bodies = fuzz.bodies(
    fuzz.shaped({"error": st.sampled_from(["Review.Refused", "ALL"]), "message": st.text()})
)


@given(body=agent_bodies, headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_agent_registrations_never_fail_the_server_or_change_state_when_refused(
    world, body, headers
):
    send(world, "/v1/agents", body, headers)


@given(data=st.data(), body=event_bodies, headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_agent_events_never_fail_the_server_or_change_state_when_refused(
    world, data, body, headers
):
    agent_id = data.draw(fuzz.path_segment(world.agents))
    send(world, f"/v1/agents/{agent_id}/events", body, headers)


@given(data=st.data(), body=session_bodies, headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_session_openings_never_fail_the_server_or_change_state_when_refused(
    world, data, body, headers
):
    agent_id = data.draw(fuzz.path_segment(world.agents))
    send(world, f"/v1/agents/{agent_id}/sessions", body, headers)


@given(data=st.data(), body=event_bodies, headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_session_events_never_fail_the_server_or_change_state_when_refused(
    world, data, body, headers
):
    session_id = data.draw(fuzz.path_segment(world.sessions))
    send(world, f"/v1/sessions/{session_id}/events", body, headers)


@given(data=st.data(), body=run_bodies, headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_run_starts_never_fail_the_server_or_change_state_when_refused(
    world, data, body, headers
):
    name = data.draw(fuzz.path_segment(["review_document", "fetch_report", "agent", "nope"]))
    send(world, f"/v1/workflows/{name}/runs", body, headers)


@pytest.mark.parametrize("action", ["cancel", "redrive"])
@given(data=st.data(), body=fuzz.bodies(fuzz.json_objects), headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_cancels_and_redrives_never_fail_the_server_or_change_state_when_refused(
    world, action, data, body, headers
):
    run_id = data.draw(fuzz.path_segment(world.runs))
    send(world, f"/v1/runs/{run_id}/{action}", body, headers)


@pytest.mark.parametrize(
    ("action", "bodies"), [("complete", complete_bodies), ("fail", fail_bodies)]
)
@given(data=st.data(), headers=fuzz.headers())
@fuzz.FUZZ
def test_arbitrary_step_reports_never_fail_the_server_or_change_state_when_refused(
    world, action, bodies, data, headers
):
    run_id = data.draw(fuzz.path_segment(world.runs))
    step = data.draw(fuzz.path_segment(["review", "decide", "fetch"]))
    send(world, f"/v1/runs/{run_id}/steps/{step}/{action}", data.draw(bodies), headers)


definition_texts = (
    st.text(max_size=300)
    | fuzz.as_json(fuzz.json_values)
    | st.sampled_from(
        [
            b"kind: agent\nname: x\nversion: 1\ninitial: a\nstates: [a]\ntransitions: []\n",
            b"!!python/object/apply:os.system ['true']\n",
            b"a: &a [*a, *a]\nb: *a\n",
            b"kind: workflow\nname: w\nversion: 1\nstart: s\nsteps: {s: {wait: 1s, next: s}}\n",
        ]
    )
)


@given(
    body=definition_texts.map(lambda text: text if isinstance(text, bytes) else text.encode()),
    headers=fuzz.headers(),
    file=st.text(max_size=210),
)
@fuzz.FUZZ
def test_arbitrary_definitions_to_validate_never_fail_the_server_or_change_state(
    world, body, headers, file
):
    send(world, "/v1/machines/validate", body, headers, {"file": file} if file else "")
