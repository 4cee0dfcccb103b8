"""Explanations say why a run or an agent does not move: the task it waits on, who holds the
lease and how old its heartbeat is, that no agent with the capability is free, that it waits
for input or a retry; and runs show their state in A2A terms."""

from __future__ import annotations

import pytest

from opscore.runs import A2AState
from opscore.tasks import TaskError
from tests.support.polling import poll_until

ROUTED = """
kind: workflow
name: routed
version: 1
start: review
steps:
  review: {task: agent, capability: summarize, lease: 30s, next: succeeded}
"""
APPROVAL = """
kind: workflow
name: approval
version: 1
start: approve
steps:
  approve: {input: {schema: {type: object}}, next: succeeded}
"""
FLAKY = """
kind: workflow
name: flaky
version: 1
start: call
steps:
  call:
    task: down
    retry: [{errors: [Net.Down], interval: 1m, max_attempts: 3}]
    next: succeeded
"""


@pytest.fixture
def tasks(tasks):
    """The counted tasks, and `down`, which always fails with Net.Down."""

    @tasks.task("down")
    def down(ctx):
        raise TaskError("Net.Down", "down")

    return tasks


@pytest.fixture
def explain(workflow_core, add_template):
    for text in (ROUTED, APPROVAL, FLAKY):
        add_template(text)
    return workflow_core.explainer


def reasons(explanation):
    return [(r.waits, r.step) for r in explanation.reasons]


def offered(core):
    return poll_until(lambda: core.agent_tasks.list(capability="summarize"), what="an offer")


def test_a_task_no_agent_can_take_says_which_capability_is_missing(workflow_core, explain):
    run = workflow_core.runs.start("routed", {})
    offered(workflow_core)
    found = explain.run(run.id)
    assert reasons(found) == [("capability", "review")]
    assert "no agent has capability summarize" in found.reasons[0].message
    assert found.a2a_state == A2AState.SUBMITTED


def test_a_task_whose_capable_agents_are_busy_names_them_with_their_state(workflow_core, explain):
    workflow_core.agents.register(agent_id="s1", capabilities=["summarize"])
    workflow_core.agents.fire_event("s1", "activate")  # busy: `activate` is not allowed now
    run = workflow_core.runs.start("routed", {})
    offered(workflow_core)
    message = explain.run(run.id).reasons[0].message
    assert "no agent with capability summarize is free: s1 (active)" in message


def test_a_claimed_task_names_its_holder_heartbeat_and_lease(workflow_core, explain, clock):
    workflow_core.agents.register(agent_id="s1", capabilities=["summarize"])
    run = workflow_core.runs.start("routed", {})
    offered(workflow_core)
    task, _ = workflow_core.agent_tasks.claim("s1")
    clock.advance(10)
    found = explain.run(run.id)
    assert reasons(found) == [("lease", "review")]
    assert found.reasons[0].facts["agent_id"] == "s1"
    assert "last heartbeat was 10 s ago and its lease ends in 20 s" in found.reasons[0].message
    assert found.a2a_state == A2AState.WORKING
    held = explain.agent("s1")
    assert [(r.waits, r.facts.get("task")) for r in held.reasons] == [("task", task.id)]


def test_an_input_step_says_it_waits_for_input(workflow_core, explain):
    run = workflow_core.runs.start("approval", {})
    poll_until(lambda: workflow_core.agent_tasks.list(state="input-required"), what="the input")
    found = explain.run(run.id)
    assert reasons(found) == [("input", "approve")]
    assert found.a2a_state == A2AState.INPUT_REQUIRED


def test_a_failed_attempt_says_when_its_retry_is_due(workflow_core, explain):
    run = workflow_core.runs.start("flaky", {})
    poll_until(lambda: explain.run(run.id).reasons[0].waits == "retry", what="the retry")
    message = explain.run(run.id).reasons[0].message
    assert message == "step call failed with Net.Down; it retries in 60 s"


def test_an_ended_run_says_how_it_ended_and_maps_to_a2a(workflow_core, explain):
    run = workflow_core.runs.start("approval", {})
    workflow_core.runs.cancel(run.id)
    found = explain.run(run.id)
    assert reasons(found) == [("ended", None)]
    assert found.a2a_state == A2AState.CANCELED


def test_an_agent_with_capabilities_hears_of_tasks_waiting_for_it(workflow_core, explain):
    workflow_core.agents.register(agent_id="s1", capabilities=["summarize"])
    workflow_core.runs.start("routed", {})
    offered(workflow_core)
    found = explain.agent("s1")
    assert [r.waits for r in found.reasons] == ["offer"]
    assert found.reasons[0].facts["allowed_events"] == ["activate", "fail", "terminate"]
