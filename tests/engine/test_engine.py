"""The engine fires events on plain-data instances through one shared machine per version."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from opscore.definitions import DefinitionRegistry, load_file, load_text
from opscore.engine import Engine
from opscore.errors import ActionFailed, EventNotAllowed, GuardRefused, UnknownEvent
from opscore.model import Instance
from tests.support.constants import TEST_MACHINES

NOW = 1_800_000_000.0


@pytest.fixture
def trace():
    return []


@pytest.fixture
def engine(callbacks, trace):
    for name in ("trace_exit", "trace_enter", "trace_before", "trace_after"):
        callbacks.action(name)(lambda ctx, name=name: trace.append((name, ctx.state, ctx.dest)))
    callbacks.condition("approved")(lambda ctx: ctx.data.get("approved") is True)

    @callbacks.action("explode")
    def explode(ctx):
        ctx.context["touched"] = True
        raise RuntimeError("boom")

    registry = DefinitionRegistry()
    registry.load([TEST_MACHINES / "engine"], callbacks)
    return Engine(registry, callbacks)


def draft(**changes) -> Instance:
    fields = {
        "id": "d1",
        "kind": "agent",
        "machine": "guarded",
        "version": 1,
        "state": "draft",
        "created_at": 1.0,
    }
    return Instance(**{**fields, **changes})


def test_fire_returns_the_next_instance_and_a_record(engine):
    instance, record = engine.fire(draft(), "submit", {"by": "ann"}, now=5.0)
    assert (instance.state, instance.revision, instance.seq, instance.updated_at) == (
        "review",
        2,
        1,
        5.0,
    )
    assert (record.seq, record.event, record.source, record.dest, record.at, record.data) == (
        1,
        "submit",
        "draft",
        "review",
        5.0,
        {"by": "ann"},
    )


def test_fire_leaves_the_given_instance_unchanged(engine):
    before = draft()
    engine.fire(before, "submit", now=NOW)
    assert (before.state, before.revision, before.seq) == ("draft", 1, 0)


def test_callbacks_run_in_transitions_order_with_source_and_dest(engine, trace):
    engine.fire(draft(), "submit", now=NOW)
    assert trace == [
        ("trace_before", "draft", "review"),
        ("trace_exit", "draft", "review"),
        ("trace_enter", "review", "review"),
        ("trace_after", "review", "review"),
    ]


def test_unknown_event_raises_with_allowed_events(engine):
    with pytest.raises(UnknownEvent) as caught:
        engine.fire(draft(), "fly", now=NOW)
    assert caught.value.allowed_events == ["submit", "break_it", "archive"]


def test_event_not_allowed_in_state_carries_state_and_allowed_events(engine):
    with pytest.raises(EventNotAllowed) as caught:
        engine.fire(draft(), "decide", now=NOW)
    error = caught.value
    assert (error.event, error.state, error.allowed_events) == (
        "decide",
        "draft",
        ["submit", "break_it", "archive"],
    )


def test_conditions_choose_between_transitions_of_one_trigger(engine):
    review = draft(state="review")
    assert engine.fire(review, "decide", {"approved": True}, now=NOW)[0].state == "published"
    assert engine.fire(review, "decide", {"reason": "typos"}, now=NOW)[0].state == "draft"


def test_guard_refused_when_no_transition_condition_holds(engine):
    with pytest.raises(GuardRefused) as caught:
        engine.fire(draft(state="review"), "decide", {}, now=NOW)
    assert caught.value.guards == ["approved", "has_reason", "not approved"]


def test_failing_action_raises_and_changes_nothing(engine):
    before = draft(context={"kept": 1})
    with pytest.raises(ActionFailed, match="callback 'explode' failed: RuntimeError: boom"):
        engine.fire(before, "break_it", now=NOW)
    assert before.context == {"kept": 1}


def test_wildcard_source_means_every_non_final_state(engine):
    definition = engine.definitions.get("guarded")
    assert [t.sources for t in definition.transitions if t.trigger == "archive"] == [
        ("draft", "review", "published")
    ]


def test_allowed_events_follow_the_current_state(engine):
    assert engine.allowed_events(draft(state="review")) == ("decide", "archive")
    assert engine.allowed_events(draft(state="archived")) == ()


def test_one_machine_is_compiled_per_definition_version_with_no_models(engine):
    first = engine.compiled("guarded", 1)
    for _ in range(3):
        engine.fire(draft(), "submit", now=NOW)
    assert engine.compiled("guarded", 1) is first
    assert first.machine.models == []


def test_dotted_path_action_is_rejected_at_load_and_never_runs(engine, callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "getcwd", lambda: calls.append("getcwd") or "/")
    text = (
        (TEST_MACHINES / "engine" / "guarded.yaml")
        .read_text()
        .replace("after: trace_after", "after: os.getcwd")
    )
    result = load_text(text, "evil.yaml", callbacks)
    assert result.definition is None
    assert [str(p) for p in result.problems] == [
        "evil.yaml:18: transitions[0].after[0]: unknown action 'os.getcwd' "
        "(not in the registry; dotted paths are never imported)"
    ]
    assert calls == []


def test_engine_never_resolves_a_name_outside_the_registry(engine, callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "getcwd", lambda: calls.append("getcwd") or "/")
    definition = load_file(TEST_MACHINES / "engine" / "guarded.yaml", callbacks).definition
    states = tuple(replace(s, on_enter=("os.getcwd",)) for s in definition.states)
    engine.definitions.add(replace(definition, version=9, states=states))
    with pytest.raises(KeyError, match=r"os\.getcwd"):
        engine.compiled("guarded", 9)
    assert calls == []
