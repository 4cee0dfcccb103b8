"""Upgrading a run to a newer version of its workflow, on every store: a run none of whose
steps runs moves, its renamed steps' records renamed with it, and goes on with the new
version's steps; a run whose step runs, that has ended, or whose map names a step the new
version lacks is refused, and nothing changes."""

from __future__ import annotations

import pytest

from opscore.errors import InvalidRequest, MachineNotFound, RunNotUpgradable
from opscore.runs import TaskState
from opscore.tasks import TaskError
from tests.support.polling import poll_until
from tests.support.upgrades import RELEASE_V1, RELEASE_V2
from tests.support.workflows import finished, run_state

FLAKY_V1 = """
kind: workflow
name: flaky
version: 1
start: fetch
steps:
  fetch:
    task: refuses
    retry:
      - errors: [ALL]
        interval: 60s
        max_attempts: 1
    next: succeeded
"""
# Version 2 fetches with a task that works, in a step called `fetch_again`.
FLAKY_V2 = """
kind: workflow
name: flaky
version: 2
start: fetch_again
steps:
  fetch_again:
    task: counted
    params: {what: fetched}
    next: succeeded
"""
HELD_V2 = """
kind: workflow
name: held
version: 2
start: only
steps:
  only:
    task: noop
    next: succeeded
"""


@pytest.fixture
def releases(workflow_core, add_template):
    """Both versions of `release`, and a run of version 1 that drafted and waits for its
    approval."""
    add_template(RELEASE_V1)
    run = workflow_core.runs.start("release")
    add_template(RELEASE_V2)
    poll_until(lambda: approval(workflow_core), what="the approval task")
    return run


@pytest.fixture
def flaky(workflow_core, tasks, add_template):
    """Both versions of `flaky`, and a run of version 1 whose first attempt failed: its
    retry is due in 60 s."""
    tasks.task("refuses")(refuses)
    add_template(FLAKY_V1)
    run = workflow_core.runs.start("flaky")
    add_template(FLAKY_V2)
    poll_until(lambda: run_state(workflow_core, run.id).steps["fetch"].status == "retrying")
    return run


def refuses(ctx):
    raise TaskError("Test.Refused", "not today")


def approval(core):
    """The run's input task, once its `approve` step waits for an answer."""
    return core.agent_tasks.list(state=TaskState.INPUT_REQUIRED)


def unchanged(core, run, history):
    """Whether the run is as it was, with the history it had."""
    now = core.runs.get(run.id)
    kept = core.runs.history(run.id).items
    return (now.version, now.state, now.revision, kept) == (1, run.state, run.revision, history)


def test_a_waiting_run_upgraded_goes_on_with_the_new_versions_steps(workflow_core, releases, calls):
    upgraded = workflow_core.runs.upgrade(releases.id, 2, {"publish": "ship"})
    assert (upgraded.instance.version, upgraded.instance.state) == (2, "approve")
    [task] = approval(workflow_core)
    workflow_core.agent_tasks.complete(task.id, None, {"approved": True})
    done = poll_until(lambda: finished(workflow_core, releases.id), what="the run's end")
    assert done.state == "succeeded"
    history = workflow_core.runs.history(releases.id).items
    assert [r.dest for r in history] == ["approve", "approve", "check", "ship", "succeeded"]
    assert sorted(step for _, step in calls) == ["check", "draft", "ship"]


def test_an_upgrade_is_in_the_runs_history(workflow_core, releases):
    workflow_core.runs.upgrade(releases.id, 2, {})
    record = workflow_core.runs.history(releases.id).items[-1]
    assert (record.event, record.source, record.dest, record.version, record.data) == (
        "(upgrade)",
        "approve",
        "approve",
        2,
        {"from_version": 1, "to_version": 2},
    )


def test_a_retrying_step_renamed_keeps_its_attempts_and_runs_under_its_new_name(
    workflow_core, flaky, clock, calls
):
    upgraded = workflow_core.runs.upgrade(flaky.id, 2, {"fetch": "fetch_again"})
    assert upgraded.instance.state == "fetch_again"
    clock.advance(60)
    assert poll_until(lambda: finished(workflow_core, flaky.id)).state == "succeeded"
    steps = run_state(workflow_core, flaky.id).steps
    assert list(steps) == ["fetch_again"]
    assert [a.outcome for a in steps["fetch_again"].attempts] == ["failed", "succeeded"]
    assert calls[(flaky.id, "fetch_again")] == 1


def test_a_failed_run_upgraded_is_redriven_at_its_renamed_step_of_the_new_version(
    workflow_core, flaky, clock
):
    clock.advance(60)  # the retry fails too: the run fails
    assert poll_until(lambda: finished(workflow_core, flaky.id)).state == "failed"
    upgraded = workflow_core.runs.upgrade(flaky.id, 2, {"fetch": "fetch_again"})
    assert upgraded.instance.state == "failed"
    assert workflow_core.runs.redrive(flaky.id).record.event == "redrive_fetch_again"
    assert poll_until(lambda: finished(workflow_core, flaky.id)).state == "succeeded"


def test_a_run_whose_step_is_running_is_refused_and_unchanged(
    workflow_core, add_workflow, add_template, gate
):
    add_workflow("held", "hang")
    run = workflow_core.runs.start("held")
    add_template(HELD_V2)
    gate.wait_entered()
    running = workflow_core.runs.get(run.id)
    history = workflow_core.runs.history(run.id).items
    with pytest.raises(RunNotUpgradable, match="step 'only' is running; a run is upgraded"):
        workflow_core.runs.upgrade(run.id, 2, {})
    assert unchanged(workflow_core, running, history)


def test_a_map_to_a_step_the_new_version_lacks_is_refused_naming_states_and_unchanged(
    workflow_core, releases
):
    waiting = workflow_core.runs.get(releases.id)
    history = workflow_core.runs.history(releases.id).items
    with pytest.raises(InvalidRequest) as refused:
        workflow_core.runs.upgrade(releases.id, 2, {"publish": "publish"})
    assert (refused.value.field, refused.value.message) == (
        "states",
        "step 'publish' (for 'publish') does not exist in 'release' version 2",
    )
    assert unchanged(workflow_core, waiting, history)


def test_a_waiting_step_cannot_be_renamed(workflow_core, releases):
    with pytest.raises(RunNotUpgradable, match="step 'approve' is waiting, and an attempt"):
        workflow_core.runs.upgrade(releases.id, 2, {"approve": "check"})
    assert workflow_core.runs.get(releases.id).version == 1


def test_a_failed_run_whose_failed_step_the_new_version_lacks_is_refused(
    workflow_core, flaky, clock
):
    clock.advance(60)
    poll_until(lambda: finished(workflow_core, flaky.id))
    with pytest.raises(InvalidRequest, match="step 'fetch' does not exist in 'flaky' version 2"):
        workflow_core.runs.upgrade(flaky.id, 2, {})


def test_a_step_the_run_has_entered_must_be_in_the_new_version_under_its_new_name(
    workflow_core, releases, add_template
):
    add_template(RELEASE_V2.replace("version: 2", "version: 3").replace("draft", "prepare"))
    with pytest.raises(InvalidRequest, match="step 'draft' does not exist in 'release' version 3"):
        workflow_core.runs.upgrade(releases.id, 3, {})
    upgraded = workflow_core.runs.upgrade(releases.id, 3, {"draft": "prepare"})
    assert list(run_state(workflow_core, upgraded.instance.id).steps) == ["prepare", "approve"]


def test_a_run_that_has_succeeded_is_refused(workflow_core, releases):
    [task] = approval(workflow_core)
    workflow_core.agent_tasks.complete(task.id, None, {"approved": True})
    poll_until(lambda: finished(workflow_core, releases.id), what="the run's end")
    with pytest.raises(RunNotUpgradable, match=r"it has ended \(succeeded\)"):
        workflow_core.runs.upgrade(releases.id, 2, {"publish": "ship"})


def test_a_map_that_would_give_two_entered_steps_one_name_is_refused(workflow_core, releases):
    with pytest.raises(InvalidRequest) as refused:
        workflow_core.runs.upgrade(releases.id, 2, {"draft": "approve"})
    assert refused.value.message == (
        f"states would call steps 'approve' and 'draft' of run '{releases.id}' both 'approve'"
    )


@pytest.mark.parametrize("version", [1, 3])
def test_a_version_that_does_not_grow_or_does_not_exist_is_refused(
    workflow_core, releases, version
):
    expected = InvalidRequest if version == 1 else MachineNotFound
    with pytest.raises(expected):
        workflow_core.runs.upgrade(releases.id, version, {})
