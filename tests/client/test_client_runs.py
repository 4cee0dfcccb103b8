"""Workflow runs through `OpsCoreClient`, with real workers: start, follow, report, redrive."""

from __future__ import annotations

import pytest

from opscore.client import (
    Conflict,
    EventNotAllowed,
    NotFound,
    OpsCoreClient,
    Transition,
    ValidationFailed,
)
from tests.support.constants import API_KEY
from tests.support.fake_time import FakeTime
from tests.support.polling import poll_until
from tests.support.upgrades import approving_release


@pytest.fixture
def helper(api):
    """A registered agent `helper`."""
    return api.agents.register("helper")


def waiting_task(api, agent_id):
    """The first step waiting for the agent, once there is one."""
    return poll_until(lambda: api.runs.tasks_for_agent(agent_id).items, what="a task")[0]


def test_start_answers_the_run_and_wait_follows_it_to_success(server_url, counted_runs):
    api = OpsCoreClient(server_url, API_KEY)
    run = api.runs.start("three_noops")
    assert (run["workflow"]["name"], run["status"]) == ("three_noops", "running")
    done = api.runs.wait(run["id"], timeout=15, interval=0.01)
    assert done["state"] == "succeeded"
    assert [step for _, step in counted_runs] == ["one", "two", "three"]


def test_wait_gives_up_at_its_deadline_with_timeout_error(server_url, helper):
    fake = FakeTime()
    api = OpsCoreClient(server_url, API_KEY, sleep=fake.sleep, clock=fake.monotonic)
    run = api.runs.start("prepare_then_ask", agent_id="helper")
    with pytest.raises(TimeoutError, match=f"run {run['id']} is still"):
        api.runs.wait(run["id"], timeout=3, interval=1)
    assert fake.slept == [1, 1, 1]


def test_an_agent_picks_up_its_task_and_completes_it(api, helper):
    run = api.runs.start("prepare_then_ask", agent_id="helper")
    task = waiting_task(api, "helper")
    assert (task["run_id"], task["step"], task["request"]) == (
        run["id"],
        "ask",
        {"question": "prepare"},
    )
    answer = api.runs.complete_step(run["id"], "ask", "42")
    assert answer["transition"]["event"] == "succeed"
    done = api.runs.wait(run["id"], timeout=15)
    assert done["output"] == {"answer": "42"}


def test_a_failed_step_fails_the_run_and_redrive_resumes_at_that_step(api, helper, counted_runs):
    run = api.runs.start("prepare_then_ask", agent_id="helper")
    waiting_task(api, "helper")
    api.runs.fail_step(run["id"], "ask", "Agent.Unavailable", "gone fishing")
    failed = api.runs.wait(run["id"], timeout=15)
    assert failed["error"] == {
        "name": "Agent.Unavailable",
        "message": "gone fishing",
        "step": "ask",
    }
    redriven = api.runs.redrive(run["id"])
    assert redriven["transition"]["event"] == "redrive_ask"
    waiting_task(api, "helper")
    api.runs.complete_step(run["id"], "ask", "again")
    assert api.runs.wait(run["id"], timeout=15)["state"] == "succeeded"
    assert counted_runs.count((run["id"], "prepare")) == 1


def test_reporting_a_step_that_does_not_wait_is_a_conflict(api, helper):
    run = api.runs.start("prepare_then_ask", agent_id="helper")
    waiting_task(api, "helper")
    with pytest.raises(Conflict, match="step 'wrap_up'"):
        api.runs.complete_step(run["id"], "wrap_up", 1)


def test_cancel_ends_a_run_and_a_second_cancel_is_not_allowed(api, helper):
    run = api.runs.start("prepare_then_ask", agent_id="helper")
    waiting_task(api, "helper")
    cancelled = api.runs.cancel(run["id"])
    assert cancelled["run"]["state"] == "cancelled"
    with pytest.raises(EventNotAllowed):
        api.runs.cancel(run["id"])


def test_list_filters_runs_by_workflow_state_and_agent(api, helper):
    bound = api.runs.start("prepare_then_ask", agent_id="helper")
    other = api.runs.start("three_noops")
    api.runs.wait(other["id"], timeout=15)
    assert [r["id"] for r in api.runs.list(agent_id="helper")] == [bound["id"]]
    assert [r["id"] for r in api.runs.list(workflow="three_noops")] == [other["id"]]
    assert [r["id"] for r in api.runs.list(state="succeeded")] == [other["id"]]
    assert {r["id"] for r in api.runs.iterate(page_size=1)} == {bound["id"], other["id"]}


def test_history_lists_the_runs_transitions(api):
    run = api.runs.start("three_noops")
    api.runs.wait(run["id"], timeout=15)
    assert [r["event"] for r in api.runs.history(run["id"])] == ["succeed", "succeed", "succeed"]
    assert len(api.runs.history(run["id"], since_seq=2)) == 1


def test_invalid_input_is_validation_failed(api):
    with pytest.raises(ValidationFailed):
        api.runs.start("review_document", {"title": "no document"})


def test_unknown_workflow_is_not_found(api):
    with pytest.raises(NotFound, match="nope"):
        api.runs.start("nope")


def test_events_of_a_finished_run_replay_its_history_and_end(api):
    run = api.runs.start("three_noops")
    api.runs.wait(run["id"], timeout=15, interval=0.01)
    with api.events(run_id=run["id"], read_timeout=10) as stream:
        events = list(stream)
    run_events = [e for e in events if isinstance(e, Transition) and e.kind == "run"]
    history = api.runs.history(run["id"]).items
    assert [(e.seq, e.dest) for e in run_events] == [(r["seq"], r["dest"]) for r in history]
    assert run_events[-1].dest == "succeeded"


def test_events_of_a_running_run_end_once_it_has_finished(api, helper):
    run = api.runs.start("prepare_then_ask", agent_id="helper")
    with api.events(run_id=run["id"], read_timeout=10) as stream:
        for event in stream:
            if isinstance(event, Transition) and event.event == "waiting":
                api.runs.complete_step(run["id"], "ask", {"answer": 1})
            last = event
    assert (last.kind, last.dest) == ("run", "succeeded")


def test_events_of_an_unknown_run_is_not_found(api):
    with pytest.raises(NotFound, match="run 'nope' not found"), api.events(run_id="nope") as stream:
        next(stream)


@pytest.fixture
def approving(api):
    """A run of `release` v1 waiting for its approval, with v2 stored beside it."""
    return approving_release(api)


def test_upgrade_moves_a_waiting_run_to_the_new_version_and_answers_the_transition(api, approving):
    answer = api.runs.upgrade(approving["id"], 2, {"publish": "ship"})
    assert (answer["run"]["workflow"]["version"], answer["transition"]["event"]) == (
        2,
        "(upgrade)",
    )


def test_upgrade_to_a_step_the_version_lacks_is_validation_failed(api, approving):
    with pytest.raises(ValidationFailed, match="step 'publish' \\(for 'publish'\\) does not"):
        api.runs.upgrade(approving["id"], 2, {"publish": "publish"})
