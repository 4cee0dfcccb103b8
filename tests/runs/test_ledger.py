"""The run ledger keeps the parsed state of each run's latest revision, for the runs used
last: a run's next commit never parses its own JSON again, however many commits of other
runs came in between (a map's items queue behind every other run's). It also keeps the
states committed last, which a worker may read after another worker committed again."""

from __future__ import annotations

import pytest

from opscore.runs import ledger as ledger_module
from opscore.runs.planner import RunPlan
from opscore.runs.state import RunState

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
