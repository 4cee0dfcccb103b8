"""Parallel branches, map items and child workflows, on every store: their outputs, what
their steps see, failures that stop the others, cancels that reach inside, redrives that
run again only what did not succeed, and the bound on items running at once."""

from __future__ import annotations

import threading

import pytest

from opscore.errors import EventNotAllowed
from tests.support.branch_templates import CHILD, EACH, FAN_OUT, PARENT
from tests.support.polling import poll_until
from tests.support.workflows import finished, run_state


@pytest.fixture
def picky(tasks):
    """A task that fails with Picky.Refused for the docs in `picky.refused`."""

    def run(ctx):
        if ctx.params["doc"] in run.refused:
            from opscore.tasks import TaskError

            raise TaskError("Picky.Refused", f"not {ctx.params['doc']}")
        return dict(ctx.params)

    run.refused = set()
    tasks.task("picky")(run)
    return run


@pytest.fixture
def gate(tasks):
    """A task that holds its worker until the test lets it go; it counts who waits."""
    opened = threading.Event()
    entered = []
    lock = threading.Lock()

    def held(ctx):
        with lock:
            entered.append(ctx.step)
        opened.wait(60)
        return dict(ctx.params)

    tasks.task("held")(held)
    held.entered, held.opened = entered, opened
    yield held
    opened.set()


def wait_done(core, run_id):
    return poll_until(lambda: finished(core, run_id), timeout=30, what="the run to end")


def test_a_parallel_steps_output_is_keyed_by_branch_with_each_branchs_last_output(
    workflow_core, add_template
):
    add_template(FAN_OUT)
    run = workflow_core.runs.start("fan", {"topic": "bees"})
    done = wait_done(workflow_core, run.id)
    assert done.state == "succeeded"
    assert workflow_core.runs.state(done).output == {
        "all": {"research": {"from": "bees"}, "outline": {"logged": "outline bees"}}
    }


def test_a_branch_step_sees_its_own_steps_and_the_outer_steps_finished_before(
    workflow_core, add_template
):
    add_template(FAN_OUT)
    run = workflow_core.runs.start("fan", {"topic": "bees"})
    state = workflow_core.runs.state(wait_done(workflow_core, run.id))
    assert state.steps["fan_out/research/search"].output == {"q": "bees", "seen": "bees"}
    assert state.steps["fan_out/research/rank"].output == {"from": "bees"}


def test_a_map_steps_output_lists_each_items_output_in_item_order(workflow_core, add_template):
    add_template(EACH.replace("{task}", "noop"))
    run = workflow_core.runs.start("each", {"docs": ["a", "b", "c", "d", "e"]})
    state = workflow_core.runs.state(wait_done(workflow_core, run.id))
    expected = [{"doc": doc, "position": i} for i, doc in enumerate("abcde")]
    assert state.steps["each_doc"].output == expected
    assert state.output == expected  # the run's output is its last step's


def test_a_map_over_no_items_succeeds_with_an_empty_list(workflow_core, add_template):
    add_template(EACH.replace("{task}", "noop"))
    run = workflow_core.runs.start("each", {"docs": []})
    done = wait_done(workflow_core, run.id)
    assert (done.state, workflow_core.runs.state(done).steps["each_doc"].output) == (
        "succeeded",
        [],
    )


def test_no_more_items_run_at_once_than_max_concurrency(workflow_core, add_template, gate):
    add_template(EACH.replace("{task}", "held"))
    run = workflow_core.runs.start("each", {"docs": list("abcdef")})
    poll_until(lambda: len(gate.entered) == 2, what="two items started")
    state = run_state(workflow_core, run.id)
    running = [k for k, b in state.branches_of("each_doc").items() if b.status == "running"]
    assert (sorted(running), state.steps["each_doc"].todo) == (["0", "1"], (2, 3, 4, 5))
    gate.opened.set()
    done = wait_done(workflow_core, run.id)
    assert len(workflow_core.runs.state(done).steps["each_doc"].output) == 6


def test_a_failed_item_cancels_the_others_and_fails_the_step_with_its_error(
    workflow_core, add_template, picky
):
    add_template(EACH.replace("{task}", "picky"))
    picky.refused = {"c"}
    run = workflow_core.runs.start("each", {"docs": list("abcdef")})
    done = wait_done(workflow_core, run.id)
    state = workflow_core.runs.state(done)
    assert done.state == "failed"
    assert (state.error.name, state.error.step) == ("Picky.Refused", "each_doc")
    statuses = {k: b.status for k, b in state.branches_of("each_doc").items()}
    assert statuses["2"] == "failed"
    assert "4" not in statuses or statuses["4"] != "running"
    assert all(status != "running" for status in statuses.values())


def test_a_branch_failure_is_caught_by_the_steps_own_catcher(workflow_core, add_template, picky):
    text = EACH.replace("{task}", "picky").replace(
        "    next: succeeded\n",
        "    catch: [{errors: [Picky.Refused], next: note}]\n"
        "    next: succeeded\n  note: {task: noop, params: {why: $.error.name}, next: succeeded}\n",
    )
    add_template(text)
    picky.refused = {"a"}
    run = workflow_core.runs.start("each", {"docs": ["a", "b"]})
    done = wait_done(workflow_core, run.id)
    assert done.state == "succeeded"
    assert workflow_core.runs.state(done).output == {"why": "Picky.Refused"}


def test_a_redrive_runs_again_only_the_items_that_did_not_succeed(
    workflow_core, add_template, picky, calls, tasks
):
    text = EACH.replace("{task}", "counted_picky")

    def counted_picky(ctx):
        calls[(ctx.run_id, ctx.params["doc"])] += 1
        return picky(ctx)

    tasks.task("counted_picky")(counted_picky)
    add_template(text.replace("max_concurrency: 2", "max_concurrency: 1"))
    picky.refused = {"c"}
    run = workflow_core.runs.start("each", {"docs": list("abcde")})
    assert wait_done(workflow_core, run.id).state == "failed"
    picky.refused = set()
    workflow_core.runs.redrive(run.id)
    done = wait_done(workflow_core, run.id)
    assert done.state == "succeeded"
    assert [calls[(run.id, doc)] for doc in "abcde"] == [1, 1, 2, 1, 1]
    output = workflow_core.runs.state(done).steps["each_doc"].output
    assert [item["doc"] for item in output] == list("abcde")


def test_cancelling_a_run_cancels_its_running_items(workflow_core, add_template, gate):
    add_template(EACH.replace("{task}", "held"))
    run = workflow_core.runs.start("each", {"docs": list("abcd")})
    poll_until(lambda: len(gate.entered) == 2, what="two items started")
    workflow_core.runs.cancel(run.id)
    state = run_state(workflow_core, run.id)
    assert {b.status for b in state.branches_of("each_doc").values()} == {"cancelled"}
    assert state.steps["each_doc/0/summarize"].status == "cancelled"
    gate.opened.set()  # the handlers' late results find their attempts cancelled
    poll_until(lambda: workflow_core.store.queue.depth() == 0, what="the queue to drain")
    assert workflow_core.runs.get(run.id).state == "cancelled"


def test_a_child_workflows_output_is_its_steps_output(workflow_core, add_template):
    add_template(CHILD.replace("{task}", "noop"))
    add_template(PARENT)
    run = workflow_core.runs.start("parent", {"n": 21})
    done = wait_done(workflow_core, run.id)
    state = workflow_core.runs.state(done)
    child_id = state.steps["child"].child
    child = workflow_core.runs.get(child_id)
    assert (done.state, child.state, state.steps["child"].output) == (
        "succeeded",
        "succeeded",
        {"n": 21},
    )
    assert workflow_core.runs.state(child).parent.to_json() == {
        "run_id": run.id,
        "step": "child",
        "attempt": 1,
    }


def test_a_failed_child_fails_the_parents_step_with_the_childs_error(
    workflow_core, add_template, picky
):
    add_template(CHILD.replace("{task}", "picky").replace("n: $.input.n", "doc: $.input.n"))
    add_template(PARENT)
    picky.refused = {7}
    run = workflow_core.runs.start("parent", {"n": 7})
    done = wait_done(workflow_core, run.id)
    assert (done.state, workflow_core.runs.state(done).error.name) == ("failed", "Picky.Refused")


def test_cancelling_a_parent_cancels_its_child_run(workflow_core, add_template, gate):
    add_template(CHILD.replace("{task}", "held"))
    add_template(PARENT)
    run = workflow_core.runs.start("parent", {"n": 1})
    poll_until(lambda: gate.entered, what="the child's step to start")
    child_id = run_state(workflow_core, run.id).steps["child"].child
    workflow_core.runs.cancel(run.id)
    poll_until(
        lambda: workflow_core.runs.get(child_id).state == "cancelled", what="the child cancelled"
    )
    with pytest.raises(EventNotAllowed):
        workflow_core.runs.cancel(child_id)


def test_an_items_reference_that_is_not_a_list_fails_the_step_with_a_named_error(
    workflow_core, add_template
):
    add_template(EACH.replace("{task}", "noop"))
    run = workflow_core.runs.start("each", {"docs": "not a list"})
    done = wait_done(workflow_core, run.id)
    assert workflow_core.runs.state(done).error.name == "States.InvalidItems"


def test_more_items_than_a_map_takes_fail_the_step_with_a_named_error(workflow_core, add_template):
    add_template(EACH.replace("{task}", "noop"))
    run = workflow_core.runs.start("each", {"docs": list(range(1001))})
    done = wait_done(workflow_core, run.id)
    state = workflow_core.runs.state(done)
    assert (done.state, state.error.name) == ("failed", "States.ItemsLimitExceeded")
    assert "at most 1000" in state.error.message


def test_a_run_that_caught_an_error_and_then_succeeded_shows_no_error(
    workflow_core, add_template, picky
):
    text = EACH.replace("{task}", "picky").replace(
        "    next: succeeded\n",
        "    catch: [{errors: [Picky.Refused], next: note}]\n"
        "    next: succeeded\n  note: {task: noop, params: {why: $.error.name}, next: succeeded}\n",
    )
    add_template(text)
    picky.refused = {"a"}
    run = workflow_core.runs.start("each", {"docs": ["a"]})
    state = workflow_core.runs.state(wait_done(workflow_core, run.id))
    assert (state.error, state.output) == (None, {"why": "Picky.Refused"})
    assert state.steps["each_doc"].error.name == "Picky.Refused"
