"""A run's typed state: records change only through their methods, and survive the store."""

from __future__ import annotations

import dataclasses

import pytest

from opscore.runs import Failure, Outcome, RunState, StepRecord, StepStatus
from opscore.runs.paths import with_top_level
from opscore.runs.state import MAX_ATTEMPTS_KEPT, Branch


def test_a_record_is_frozen_so_it_changes_only_through_its_methods():
    record = StepRecord.entered(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = StepStatus.RUNNING  # type: ignore[misc]
    started = record.started(10.0, "host:1", StepStatus.RUNNING)
    assert (record.status, started.status) == (StepStatus.QUEUED, StepStatus.RUNNING)


def test_a_step_entered_again_numbers_its_next_attempt_after_every_earlier_one():
    record = StepRecord.entered(None).started(1.0, None, StepStatus.RUNNING)
    done = record.ended(2.0, Outcome.SUCCEEDED, output={"n": 1})
    again = StepRecord.entered(done)
    assert (again.status, again.attempt, again.output) == (StepStatus.QUEUED, 2, {"n": 1})


def test_attempts_past_the_cap_are_dropped_and_still_counted():
    record = StepRecord.entered(None)
    for n in range(MAX_ATTEMPTS_KEPT + 3):
        record = record.started(float(n), None, StepStatus.RUNNING)
        failure = Failure("X", "no")
        record = record.ended(float(n), Outcome.FAILED, error=failure).retrying(n + 1.0, (n + 1,))
    assert len(record.attempts) == MAX_ATTEMPTS_KEPT
    assert (record.dropped, record.attempts[0].number) == (3, 4)
    assert record.attempt == MAX_ATTEMPTS_KEPT + 4


def test_a_success_clears_the_steps_last_error_but_its_attempts_keep_theirs():
    record = StepRecord.entered(None).started(1.0, None, StepStatus.RUNNING)
    record = record.ended(2.0, Outcome.FAILED, error=Failure("Http.Timeout", "slow"))
    record = record.retrying(3.0, (1,)).started(3.0, None, StepStatus.RUNNING)
    record = record.ended(4.0, Outcome.SUCCEEDED, output="ok")
    assert record.error is None
    assert [a.error.name if a.error else None for a in record.attempts] == ["Http.Timeout", None]


def test_a_state_reads_back_from_its_json_unchanged():
    record = (
        StepRecord.entered(None)
        .started(1.0, "host:7:ab", StepStatus.RUNNING)
        .waiting("writer-1", {"document": "Q3"})
    )
    state = RunState({"topic": "x"}).with_step("review", record).failed(Failure("A", "b", "c"))
    assert RunState.from_json(state.to_json()) == state


def test_a_state_written_by_the_earlier_layout_with_pending_reads_into_its_step():
    earlier = {
        "input": {"document": "Q3"},
        "steps": {
            "review": {
                "status": "waiting",
                "attempts": [{"attempt": 1, "started_at": 5.0}],
                "retries": [],
            }
        },
        "pending": {
            "step": "review",
            "attempt": 1,
            "status": "waiting",
            "agent_id": "writer-1",
            "request": {"document": "Q3"},
        },
    }
    state = RunState.from_json(earlier)
    record = state.pending("review")
    assert (record.status, record.attempt, record.agent_id) == (StepStatus.WAITING, 1, "writer-1")
    assert state.waiting_for() == ("writer-1",)


def test_only_an_active_step_is_pending():
    done = StepRecord.entered(None).started(1.0, None, StepStatus.RUNNING)
    state = RunState({}).with_step("a", done.ended(2.0, Outcome.SUCCEEDED, output=None))
    assert state.pending("a") is None
    assert state.with_step("a", StepRecord.entered(state.step("a"))).pending("a") is not None


def test_a_renamed_state_moves_its_steps_branches_and_error_and_its_json_follows():
    record = StepRecord.entered(None)
    state = (
        RunState({})
        .with_step("fan", record)
        .with_step("fan/a/search", record)
        .with_branch("fan/a", Branch("search"))
        .failed(Failure("X", "no", "fan"))
    )
    state.to_json()  # made once, so the renamed state must not keep it
    renamed = state.renamed(lambda path: with_top_level(path, "spread"))
    assert (list(renamed.steps), list(renamed.branches)) == (
        ["spread", "spread/a/search"],
        ["spread/a"],
    )
    assert renamed.error == Failure("X", "no", "spread")
    assert RunState.from_json(renamed.to_json()) == renamed
