"""Steps that end their flow directly: a task step with `next: failed`, and a choice with
no rules that always takes its default, at the top level and inside a branch."""

from __future__ import annotations

from tests.support.polling import poll_until
from tests.support.workflows import finished

GIVE_UP = """
kind: workflow
name: give_up
version: 1
start: note
steps:
  note: {task: noop, params: {why: tried}, next: failed}
"""

GIVE_UP_IN_A_BRANCH = """
kind: workflow
name: give_up_in_a_branch
version: 1
start: fan
steps:
  fan:
    parallel:
      branches:
        one:
          start: note
          steps:
            note: {task: noop, next: failed}
    next: succeeded
    catch:
      - {errors: [ALL], next: caught}
  caught: {task: noop, params: {caught: true}, next: succeeded}
"""

ALWAYS_DEFAULT = """
kind: workflow
name: always_default
version: 1
start: pick
steps:
  pick: {choice: [], default: chosen}
  chosen: {task: noop, params: {picked: default}, next: succeeded}
"""


def wait_done(core, run_id):
    return poll_until(lambda: finished(core, run_id), timeout=30, what="the run to end")


def test_a_task_step_with_next_failed_fails_the_run_after_it_succeeds(workflow_core, add_template):
    add_template(GIVE_UP)
    done = wait_done(workflow_core, workflow_core.runs.start("give_up", {}).id)
    assert done.state == "failed"
    assert str(workflow_core.runs.state(done).steps["note"].status) == "succeeded"


def test_a_branch_step_with_next_failed_fails_its_branch_for_the_catcher(
    workflow_core, add_template
):
    add_template(GIVE_UP_IN_A_BRANCH)
    done = wait_done(workflow_core, workflow_core.runs.start("give_up_in_a_branch", {}).id)
    assert done.state == "succeeded"
    assert workflow_core.runs.state(done).output == {"caught": True}


def test_a_choice_with_no_rules_takes_its_default(workflow_core, add_template):
    add_template(ALWAYS_DEFAULT)
    done = wait_done(workflow_core, workflow_core.runs.start("always_default", {}).id)
    assert (done.state, workflow_core.runs.state(done).output) == (
        "succeeded",
        {"picked": "default"},
    )
