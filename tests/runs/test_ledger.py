"""The run ledger keeps the parsed state of each run's latest revision, for the runs used
last: a run's next commit never parses its own JSON again, however many commits of other
runs came in between (a map's items queue behind every other run's). It also keeps the
states committed last, which a worker may read after another worker committed again; and
the run a worker reporting on the attempt it began plans on, without reading it again."""

from __future__ import annotations

import pytest

from opscore.runs import ledger as ledger_module
from opscore.runs.planner import RunPlan
from opscore.runs.state import RunState
from opscore.services.lifecycle import Plan
from tests.support.workflows import TWO_NOOPS

INPUT = {"url": "http://127.0.0.1:9/report"}


@pytest.fixture
def parses(monkeypatch) -> list[int]:
    """One entry per run state parsed from its JSON from now on."""
    seen: list[int] = []
    parse = RunState.from_json.__func__

    def counted(cls, data):
        seen.append(1)
        return parse(cls, data)

    monkeypatch.setattr(RunState, "from_json", classmethod(counted))
    return seen


def _touch(core, run_id: str) -> None:
    """Commit a revision of the run that changes nothing but its revision."""
    fired = core.runs.ledger.commit(run_id, lambda run, state: RunPlan(state))
    assert fired is not None


def test_each_runs_latest_state_is_kept_however_many_other_runs_commit_between(
    core, monkeypatch, parses
):
    monkeypatch.setattr(ledger_module, "CACHED_RUNS", 3)
    monkeypatch.setattr(ledger_module, "CACHED_STATES", 1)  # the other revisions' go at once
    runs = [core.runs.start("fetch_report", INPUT).id for _ in range(3)]
    for run_id in runs:
        _touch(core, run_id)
    parses.clear()

    for _ in range(5):
        for run_id in runs:
            _touch(core, run_id)

    assert parses == []


def test_a_run_beyond_the_kept_ones_is_parsed_once_and_then_kept_again(core, monkeypatch, parses):
    monkeypatch.setattr(ledger_module, "CACHED_RUNS", 2)
    monkeypatch.setattr(ledger_module, "CACHED_STATES", 1)
    first, *later = [core.runs.start("fetch_report", INPUT).id for _ in range(3)]
    for run_id in (first, *later):
        _touch(core, run_id)
    parses.clear()

    _touch(core, first)  # pushed out by the two runs after it
    _touch(core, first)

    assert len(parses) == 1


def test_a_revision_just_superseded_is_still_read_without_parsing(core, parses):
    run_id = core.runs.start("fetch_report", INPUT).id
    _touch(core, run_id)
    held = core.runs.get(run_id)  # what a worker holds while another commits twice
    _touch(core, run_id)
    _touch(core, run_id)
    parses.clear()

    state = core.runs.state(held)

    assert parses == []
    assert state.to_json() == held.context


@pytest.fixture
def run_reads(workflow_core, monkeypatch) -> list[str]:
    """The ids of the runs read from the store from now on."""
    seen: list[str] = []
    read = workflow_core.store.get

    def counted(kind: str, instance_id: str):
        if kind == "run":
            seen.append(instance_id)
        return read(kind, instance_id)

    monkeypatch.setattr(workflow_core.store, "get", counted)
    return seen


def _begun(core):
    """A run of `resilient` whose step this process took and began (no workers running)."""
    core.stop()
    run = core.runs.start("resilient")
    taken = core.store.queue.claim(0)
    assert core.attempts.begin(taken) is not None
    return run, taken


def test_the_outcome_of_an_attempt_this_process_began_is_committed_without_reading_the_run(
    workflow_core, run_reads
):
    run, taken = _begun(workflow_core)
    run_reads.clear()

    fired = workflow_core.attempts.succeed(taken, {"done": True})

    assert run_reads == []
    assert fired is not None
    assert workflow_core.runs.get(run.id).state == "succeeded"


def test_an_outcome_after_the_run_changed_elsewhere_is_planned_on_the_stored_run(
    workflow_core, run_reads, monkeypatch
):
    run, taken = _begun(workflow_core)
    # Another process commits a revision this one's ledger never sees.
    moved = workflow_core.lifecycle.transact(
        "run", run.id, lambda current: Plan(context=current.context)
    )
    assert moved is not None
    ledger = workflow_core.runs.ledger
    planned_on: list[int] = []
    state = ledger.state

    def spied(current):
        planned_on.append(current.revision)
        return state(current)

    monkeypatch.setattr(ledger, "state", spied)
    run_reads.clear()

    fired = workflow_core.attempts.succeed(taken, {"done": True})

    assert planned_on[:2] == [moved.instance.revision - 1, moved.instance.revision]
    assert run_reads == [run.id]
    assert fired is not None
    assert fired.previous.revision == moved.instance.revision
    assert workflow_core.runs.get(run.id).state == "succeeded"


def _second_step_queued(core, add_template, run_reads):
    """A two-step run whose first step this process carried out (no workers running), and
    the claimed item of its second step; the first step's begin read the run."""
    core.stop()
    add_template(TWO_NOOPS)
    run = core.runs.start("two_noops")
    first = core.store.queue.claim(0)
    run_reads.clear()
    assert core.attempts.begin(first) is not None
    assert run_reads == [run.id]  # queued by the run's start, not by a commit of a step
    assert core.attempts.succeed(first, {}) is not None
    core.store.queue.done(first)
    second = core.store.queue.claim(0)
    assert second.step == "second"
    return run, second


def test_a_step_queued_by_this_processs_commit_is_begun_without_reading_the_run(
    workflow_core, add_template, run_reads
):
    _, second = _second_step_queued(workflow_core, add_template, run_reads)
    run_reads.clear()

    fired = workflow_core.attempts.begin(second)

    assert run_reads == []
    assert fired is not None
    assert workflow_core.runs.state(fired.instance).steps["second"].status == "running"


def test_a_step_whose_run_changed_since_it_was_queued_is_begun_on_the_stored_run(
    workflow_core, add_template, run_reads
):
    run, second = _second_step_queued(workflow_core, add_template, run_reads)
    # Another process commits a revision this one's ledger never sees.
    moved = workflow_core.lifecycle.transact(
        "run", run.id, lambda current: Plan(context=current.context)
    )
    run_reads.clear()

    fired = workflow_core.attempts.begin(second)

    assert run_reads == [run.id]
    assert fired is not None
    assert fired.previous.revision == moved.instance.revision
    assert workflow_core.runs.state(fired.instance).steps["second"].status == "running"
