"""Tasks routed by capability and claimed with a lease, on every store: each task goes to one
agent that has the capability, a lapsed lease hands the task to another agent (the first's
late report is refused), the claiming agent moves in the task's own commits, and input steps
wait for an answer their schema accepts."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from opscore.errors import InvalidRequest, LeaseLost
from opscore.runs import TaskState
from tests.support.polling import poll_until
from tests.support.workflows import finished, run_state

ROUTED = """
kind: workflow
name: routed
version: 1
start: review
steps:
  review:
    task: agent
    capability: summarize
    lease: 30s
    params: {document: $.input.document}
    retry:
      - errors: [States.HeartbeatTimeout]
        max_attempts: 2
        interval: 1s
    next: succeeded
"""

APPROVAL = """
kind: workflow
name: approval
version: 1
start: approve
steps:
  approve:
    input: {schema: {type: object, required: [approved]}, timeout: 24h}
    next: succeeded
"""


@pytest.fixture
def fleet(workflow_core, add_template):
    """Three idle agents that can summarize, one that cannot."""
    add_template(ROUTED)
    add_template(APPROVAL)
    for name in ("sum-1", "sum-2", "sum-3"):
        workflow_core.agents.register(agent_id=name, capabilities=["summarize"])
    workflow_core.agents.register(agent_id="other", capabilities=["translate"])
    return workflow_core.agent_tasks


def offered(core, run_id):
    """The run's task once its step has been offered."""
    return poll_until(lambda: core.agent_tasks.list(capability="summarize"), what="an offer")


def test_thirty_tasks_are_each_completed_once_by_an_agent_with_the_capability(workflow_core, fleet):
    runs = [workflow_core.runs.start("routed", {"document": f"d{n}"}).id for n in range(30)]
    poll_until(lambda: len(fleet.list(capability="summarize")) == 30, what="30 offers")
    done_by: Counter = Counter()
    lock = threading.Lock()

    def work(agent_id: str) -> None:
        while (claimed := fleet.claim(agent_id)) is not None:
            task, token = claimed
            fleet.complete(task.id, token, {"by": agent_id})
            with lock:
                done_by[task.run.id] += 1

    threads = [threading.Thread(target=work, args=(a,)) for a in ("sum-1", "sum-2", "sum-3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done_by) == sorted(runs)
    assert set(done_by.values()) == {1}
    outputs = [workflow_core.runs.state(workflow_core.runs.get(r)).output for r in runs]
    assert {o["by"] for o in outputs} <= {"sum-1", "sum-2", "sum-3"}
    assert fleet.claim("other") is None


def test_claiming_moves_the_agent_in_the_same_commit_and_reporting_frees_it(workflow_core, fleet):
    run = workflow_core.runs.start("routed", {"document": "x"})
    offered(workflow_core, run.id)
    task, token = fleet.claim("sum-1")
    assert (task.state, task.record.agent_id) == (TaskState.WORKING, "sum-1")
    assert workflow_core.agents.get("sum-1").state == "active"
    fired = fleet.complete(task.id, token, {"summary": "short"})
    [released] = fired.linked
    assert (released.instance.id, released.instance.state) == ("sum-1", "idle")
    assert released.record.data == {"run_id": run.id, "task": task.id}
    assert finished(workflow_core, run.id).state == "succeeded"


def test_a_lapsed_lease_hands_the_task_to_another_agent_and_the_first_report_is_409(
    workflow_core, fleet, clock
):
    run = workflow_core.runs.start("routed", {"document": "x"})
    offered(workflow_core, run.id)
    first, first_token = fleet.claim("sum-1")  # then sum-1 goes silent
    clock.advance(31)  # past the 30 s lease: the attempt fails, the retry is due in 1 s
    poll_until(lambda: run_state(workflow_core, run.id).steps["review"].status == "retrying")
    clock.advance(1)
    poll_until(lambda: fleet.list(capability="summarize"), what="the task offered again")
    second, second_token = fleet.claim("sum-2")
    assert second.id != first.id
    with pytest.raises(LeaseLost):
        fleet.complete(first.id, first_token, {"late": True})
    fleet.complete(second.id, second_token, {"by": "sum-2"})
    state = run_state(workflow_core, run.id)
    attempts = state.steps["review"].attempts
    assert [a.error.name if a.error else None for a in attempts] == [
        "States.HeartbeatTimeout",
        None,
    ]
    assert state.output == {"by": "sum-2"}
    assert workflow_core.agents.get("sum-1").state == "error"  # it lost the task


def test_a_heartbeat_keeps_the_claim_past_its_first_lease(workflow_core, fleet, clock):
    run = workflow_core.runs.start("routed", {"document": "x"})
    offered(workflow_core, run.id)
    task, token = fleet.claim("sum-1")
    clock.advance(20)
    fleet.heartbeat(task.id, token)
    clock.advance(20)  # 40 s after the claim, 20 s after the heartbeat
    assert fleet.get(task.id).state == TaskState.WORKING
    fleet.complete(task.id, token, {"ok": True})
    assert finished(workflow_core, run.id).state == "succeeded"


def test_a_report_with_a_wrong_token_is_refused_and_changes_nothing(workflow_core, fleet):
    run = workflow_core.runs.start("routed", {"document": "x"})
    offered(workflow_core, run.id)
    task, _ = fleet.claim("sum-1")
    before = workflow_core.runs.get(run.id)
    with pytest.raises(LeaseLost):
        fleet.complete(task.id, "not-the-token", {"forged": True})
    with pytest.raises(LeaseLost):
        fleet.heartbeat(task.id, "not-the-token")
    assert workflow_core.runs.get(run.id).revision == before.revision


def test_two_agents_claiming_at_once_never_get_the_same_task(workflow_core, fleet):
    for n in range(12):
        workflow_core.runs.start("routed", {"document": f"d{n}"})
    poll_until(lambda: len(fleet.list(capability="summarize")) == 12, what="12 offers")
    got: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def grab(agent_id: str) -> None:
        barrier.wait()
        while (claimed := fleet.claim(agent_id)) is not None:
            with lock:
                got.append(claimed[0].id)
            fleet.complete(claimed[0].id, claimed[1], {})

    threads = [threading.Thread(target=grab, args=(a,)) for a in ("sum-1", "sum-2", "sum-3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == len(set(got)) == 12


def test_an_input_step_waits_for_an_answer_its_schema_accepts(workflow_core, fleet):
    run = workflow_core.runs.start("approval")
    [task] = poll_until(lambda: fleet.list(state=TaskState.INPUT_REQUIRED), what="the input")
    assert task.state == TaskState.INPUT_REQUIRED
    before = workflow_core.runs.get(run.id).revision
    with pytest.raises(InvalidRequest, match="required property"):
        fleet.complete(task.id, None, {"maybe": True})
    assert workflow_core.runs.get(run.id).revision == before
    fleet.complete(task.id, None, {"approved": True})
    done = finished(workflow_core, run.id)
    assert (done.state, workflow_core.runs.state(done).output) == ("succeeded", {"approved": True})


def test_an_unanswered_input_step_times_out(workflow_core, fleet, clock):
    run = workflow_core.runs.start("approval")
    poll_until(lambda: fleet.list(state=TaskState.INPUT_REQUIRED), what="the input")
    clock.advance(24 * 3600 + 1)
    done = poll_until(lambda: finished(workflow_core, run.id), what="the timeout")
    assert workflow_core.runs.state(done).error.name == "States.Timeout"


def test_a_busy_agent_claims_nothing(workflow_core, fleet):
    workflow_core.runs.start("routed", {"document": "x"})
    poll_until(lambda: fleet.list(capability="summarize"), what="an offer")
    workflow_core.agents.fire_event("sum-1", "activate")  # busy with something else
    assert fleet.claim("sum-1") is None
    assert fleet.claim("sum-2") is not None
