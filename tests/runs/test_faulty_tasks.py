"""A task handler that raises, hangs or returns garbage fails its own step, never the pool.

Time is the manual clock's: a step "times out" when the test advances the clock past
its timeout, and every wait polls with a deadline.
"""

from __future__ import annotations

import math
import sys

import pytest

from opscore.runs import WorkerPool
from opscore.tasks import Sleep, Suspend, TaskError
from tests.support.polling import poll_until
from tests.support.workflows import finished

TIMEOUT = "timeout: 5s"


@pytest.fixture
def one_worker(workflow_core):
    """The core with a pool of a single worker thread."""
    workflow_core.stop()
    workflow_core.start(1)
    return workflow_core


@pytest.fixture
def hung_run(one_worker, clock, gate, add_workflow):
    """A run whose handler hangs past its 5 s step timeout (no retries): it has failed."""
    add_workflow("hangs", "hang", extra=f"    {TIMEOUT}")
    run = one_worker.runs.start("hangs")
    gate.wait_entered()
    clock.advance(5)
    return poll_until(lambda: finished(one_worker, run.id), what="the step's timeout")


def test_a_handler_hung_past_its_timeout_fails_its_step_with_states_timeout(hung_run):
    assert hung_run.state == "failed"
    assert hung_run.context["error"] == {
        "name": "States.Timeout",
        "message": "the step ran past its timeout",
        "step": "only",
    }


def test_the_pool_keeps_its_capacity_while_a_handler_hangs(one_worker, hung_run, gate):
    assert one_worker.workers.overdue() == 1
    run = one_worker.runs.start("three_noops")
    assert poll_until(lambda: finished(one_worker, run.id)).state == "succeeded"
    assert not gate.opened.is_set()


def test_the_late_result_of_a_handler_left_behind_changes_nothing(one_worker, hung_run, gate):
    gate.opened.set()
    poll_until(lambda: one_worker.workers.overdue() == 0, what="the handler to return")
    assert one_worker.runs.get(hung_run.id) == hung_run


def test_a_thread_left_behind_leaves_the_pool_once_its_handler_returns(one_worker, hung_run, gate):
    assert one_worker.workers.threads() == 2
    gate.opened.set()
    poll_until(lambda: one_worker.workers.threads() == 1, what="the replaced thread to leave")


@pytest.mark.parametrize("backend", ["memory://"])
def test_replacement_threads_are_bounded_and_the_pool_recovers_when_handlers_return(
    workflow_core, clock, gate, add_workflow
):
    workflow_core.stop()
    pool = WorkerPool(
        workflow_core.store.queue, workflow_core.runner, 1, clock=clock, max_overdue=1
    )
    pool.start()
    try:
        add_workflow("hangs", "hang", extra=f"    {TIMEOUT}")
        first = workflow_core.runs.start("hangs")
        gate.wait_entered()
        clock.advance(5)
        poll_until(lambda: finished(workflow_core, first.id), what="the first timeout")
        second = workflow_core.runs.start("hangs")
        gate.wait_entered()  # on the replacement thread
        clock.advance(5)
        poll_until(lambda: pool.overdue() == 2, what="the second handler to be overdue")
        assert pool.threads() == 2  # the bound of one replacement is reached
        waiting = workflow_core.runs.start("three_noops")
        gate.opened.set()
        assert poll_until(lambda: finished(workflow_core, waiting.id)).state == "succeeded"
        failed = poll_until(lambda: finished(workflow_core, second.id))
        assert failed.context["error"]["name"] == "States.Timeout"
        poll_until(lambda: (pool.threads(), pool.overdue()) == (1, 0), what="one thread again")
    finally:
        gate.opened.set()
        pool.stop()


def test_a_result_returned_after_the_step_timeout_is_a_timeout_even_before_its_timer(
    workflow_core, clock, tasks, add_workflow
):
    def slow(ctx):
        clock.advance(6)  # the handler takes longer than the step's 5 s
        return {"done": True}

    tasks.task("slow")(slow)
    add_workflow("slow_step", "slow", extra=f"    {TIMEOUT}")
    run = workflow_core.runs.start("slow_step")
    failed = poll_until(lambda: finished(workflow_core, run.id))
    assert failed.context["error"]["name"] == "States.Timeout"
    assert workflow_core.runs.state(failed).steps["only"].output is None


def failure_of(core, add_workflow, tasks, handler) -> dict:
    """Run a one-step workflow of `handler` and return the error it failed with."""
    tasks.task("faulty")(handler)
    add_workflow("faulty_run", "faulty")
    run = core.runs.start("faulty_run")
    failed = poll_until(lambda: finished(core, run.id))
    assert failed.state == "failed"
    return failed.context["error"]


def test_a_handler_calling_sys_exit_fails_its_step_and_the_workers_go_on(
    workflow_core, tasks, add_workflow
):
    # SystemExit is not an Exception: it used to end the worker thread, shrinking the pool.
    error = failure_of(workflow_core, add_workflow, tasks, lambda ctx: sys.exit(3))
    assert (error["name"], error["message"]) == ("States.TaskFailed", "SystemExit: 3")
    assert workflow_core.workers.threads() == 4
    run = workflow_core.runs.start("three_noops")
    assert poll_until(lambda: finished(workflow_core, run.id)).state == "succeeded"


def test_an_exception_that_cannot_be_shown_still_fails_its_step(workflow_core, tasks, add_workflow):
    class Unshowable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    def raise_it(ctx):
        raise Unshowable()

    error = failure_of(workflow_core, add_workflow, tasks, raise_it)
    assert error["message"] == "Unshowable: <Unshowable that cannot be shown>"


def test_a_task_error_with_an_invalid_name_fails_as_task_failed(workflow_core, tasks, add_workflow):
    def raise_it(ctx):
        raise TaskError("not a name!", "oops")

    error = failure_of(workflow_core, add_workflow, tasks, raise_it)
    assert error["name"] == "States.TaskFailed"
    assert error["message"] == "the task raised an error with an invalid name 'not a name!'"


def test_a_task_error_with_a_message_that_is_not_text_keeps_its_name(
    workflow_core, tasks, add_workflow
):
    def raise_it(ctx):
        raise TaskError("Billing.Declined", None)

    error = failure_of(workflow_core, add_workflow, tasks, raise_it)
    assert (error["name"], error["message"]) == ("Billing.Declined", "None")


@pytest.mark.parametrize("seconds", [math.nan, -1, math.inf, 8 * 24 * 3600, "soon", True])
def test_a_sleep_of_no_sensible_length_fails_with_invalid_output(
    workflow_core, tasks, add_workflow, seconds
):
    error = failure_of(workflow_core, add_workflow, tasks, lambda ctx: Sleep(seconds))
    assert error["name"] == "States.InvalidOutput"
    assert "may sleep 0 to 604800" in error["message"]


def test_a_hand_off_to_an_invalid_agent_id_fails_with_invalid_output(
    workflow_core, tasks, add_workflow
):
    error = failure_of(workflow_core, add_workflow, tasks, lambda ctx: Suspend("no such id!"))
    assert error["name"] == "States.InvalidOutput"
    assert error["message"].startswith("the agent the task hands its step to must be")


def test_an_output_whose_inspection_raises_fails_with_invalid_output(
    workflow_core, tasks, add_workflow
):
    class Treacherous(dict):
        def items(self):
            raise RuntimeError("boom")

        def values(self):
            raise RuntimeError("boom")

    error = failure_of(workflow_core, add_workflow, tasks, lambda ctx: Treacherous(a=1))
    assert error == {
        "name": "States.InvalidOutput",
        "message": "the task returned RuntimeError: boom",
        "step": "only",
    }


def test_an_output_of_tuples_and_number_keys_is_kept_as_the_json_it_serializes_to(
    workflow_core, tasks, add_workflow
):
    tasks.task("pythonic")(lambda ctx: {1: (1, 2), "nested": {2.5: None}})
    add_workflow("pythonic_run", "pythonic")
    run = workflow_core.runs.start("pythonic_run")
    done = poll_until(lambda: finished(workflow_core, run.id))
    assert done.context["output"] == {"1": [1, 2], "nested": {"2.5": None}}
