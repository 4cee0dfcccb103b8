"""A run bound to an agent moves the agent in the run's own commits: on start, on its end,
and when it is cancelled; a run that needs an agent is refused without one."""

from __future__ import annotations

import threading

import pytest

from opscore.errors import EventNotAllowed, InvalidRequest
from tests.support.polling import poll_until
from tests.support.workflows import finished

PAUSE_FIRST = """
kind: workflow
name: pause_first
version: 1
agent: {on_start: activate, on_success: complete, on_failure: fail}
start: pause
steps:
  pause: {task: agent_event, params: {event: pause}, next: resume}
  resume: {task: agent_event, params: {event: resume}, next: succeeded}
"""

HAND_OFF = """
kind: workflow
name: hand_off
version: 1
agent: {on_start: activate, on_success: complete}
start: ask
steps:
  ask: {task: agent, params: {question: why}, next: succeeded}
"""

NAMED_AGENT = """
kind: workflow
name: named_agent
version: 1
start: ask
steps:
  ask: {task: agent, params: {agent: someone}, next: succeeded}
"""

RUNS = 40


def test_a_worker_that_takes_the_first_step_at_once_finds_the_agent_started(
    workflow_core, add_template, monkeypatch
):
    add_template(PAUSE_FIRST)
    workflow_core.agents.register(agent_id="quick")
    workflow_core.stop()
    store, queue = workflow_core.store, workflow_core.store.queue
    stored = store.insert

    def insert_then_work_at_once(*args, **kwargs):
        stored(*args, **kwargs)
        item = queue.claim(0)  # a worker wins the race with the thread that started the run
        try:
            workflow_core.runner.process(item)
        finally:
            queue.done(item)

    monkeypatch.setattr(store, "insert", insert_then_work_at_once)
    run = workflow_core.runs.start("pause_first", agent_id="quick")
    record = workflow_core.runs.state(workflow_core.runs.get(run.id)).steps["pause"]
    assert (record.status, record.error) == ("succeeded", None)
    assert workflow_core.agents.get("quick").state == "paused"


def test_runs_started_four_at_a_time_each_move_their_own_agent(workflow_core, add_template):
    add_template(PAUSE_FIRST)
    for n in range(RUNS):
        workflow_core.agents.register(agent_id=f"a{n}")
    started: list[str] = []
    lock = threading.Lock()

    def start(first: int) -> None:
        for n in range(first, RUNS, 4):
            run = workflow_core.runs.start("pause_first", agent_id=f"a{n}")
            with lock:
                started.append(run.id)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = [poll_until(lambda r=r: finished(workflow_core, r), timeout=60) for r in started]
    assert [run.state for run in runs] == ["succeeded"] * RUNS
    for n in range(RUNS):
        events = [r.event for r in workflow_core.agents.history(f"a{n}").items]
        assert events == ["activate", "pause", "resume", "complete"]


def test_an_agent_that_cannot_take_on_start_leaves_no_run_and_is_not_moved(
    workflow_core, add_template
):
    add_template(HAND_OFF)
    workflow_core.agents.register(agent_id="busy")
    workflow_core.agents.fire_event("busy", "activate")
    with pytest.raises(EventNotAllowed):
        workflow_core.runs.start("hand_off", agent_id="busy")
    assert workflow_core.runs.list().total == 0
    assert workflow_core.agents.history("busy").total == 1


def test_the_agent_moves_in_the_same_commit_as_the_run_that_ends(workflow_core, add_template):
    add_template(HAND_OFF)
    workflow_core.agents.register(agent_id="writer")
    run = workflow_core.runs.start("hand_off", agent_id="writer")
    poll_until(lambda: workflow_core.runs.tasks_for_agent("writer").items)
    fired = workflow_core.runs.complete_step(run.id, "ask", {"answer": 42})
    [released] = fired.linked
    assert (fired.instance.state, released.instance.id, released.instance.state) == (
        "succeeded",
        "writer",
        "idle",
    )
    assert released.record.data == {"run_id": run.id}
    assert workflow_core.agents.get("writer").state == "idle"


def test_cancelling_a_bound_run_without_on_cancel_releases_its_agent(workflow_core, add_template):
    add_template(HAND_OFF)
    workflow_core.agents.register(agent_id="writer")
    run = workflow_core.runs.start("hand_off", agent_id="writer")
    poll_until(lambda: workflow_core.runs.tasks_for_agent("writer").items)
    workflow_core.runs.cancel(run.id)
    assert workflow_core.agents.get("writer").state == "idle"
    again = workflow_core.runs.start("hand_off", agent_id="writer")
    assert workflow_core.agents.get("writer").state == "active"
    assert again.agent_id == "writer"


@pytest.mark.parametrize("workflow", ["hand_off", "pause_first"])
def test_a_template_that_acts_on_the_runs_agent_refuses_a_start_without_one(
    workflow_core, add_template, workflow
):
    add_template(HAND_OFF)
    add_template(PAUSE_FIRST)
    with pytest.raises(InvalidRequest, match="start it with agent_id") as refused:
        workflow_core.runs.start(workflow)
    assert refused.value.field == "agent_id"
    assert workflow_core.runs.list().total == 0


def test_a_template_whose_agent_steps_name_their_agent_starts_without_one(
    workflow_core, add_template
):
    add_template(NAMED_AGENT)
    assert workflow_core.runs.start("named_agent").agent_id is None
