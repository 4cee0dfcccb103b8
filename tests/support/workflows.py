"""Fixtures (a pytest plugin) for workflow runs: a manual clock, counted tasks, a task that
hangs until the test lets it go, a core with workers on every backend, one-step workflows,
and a flaky HTTP server."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry, load_text
from opscore.model import TransitionRecord
from opscore.tasks.builtin import builtin_tasks

from .backends import close_store, make_store
from .constants import API_KEY, MACHINES, TEST_MACHINES


def run_state(core, run_id):
    """The run's typed state, as it is now."""
    return core.runs.state(core.runs.get(run_id))


def finished(core, run_id):
    """The run once it has succeeded or failed, else None (for `wait_for`)."""
    run = core.runs.get(run_id)
    return run if run.state in ("succeeded", "failed") else None


ONE_STEP = """
kind: workflow
name: {name}
version: 1
start: only
steps:
  only:
    task: {task}
    params: {params}
    next: succeeded
{extra}"""

# Two noop steps: the first step's outcome queues the second; the second's ends the run.
TWO_NOOPS = """
kind: workflow
name: two_noops
version: 1
start: first
steps:
  first: {task: noop, next: second}
  second: {task: noop, next: succeeded}
"""


def first_step_note(run_id: str, at: float, event: str = "started") -> TransitionRecord:
    """A note on the first step of a `TWO_NOOPS` run (seq 0: a step's note, not a
    transition), for tests that commit a change of the run themselves."""
    return TransitionRecord(
        instance_id=run_id,
        kind="step",
        machine="two_noops",
        version=1,
        seq=0,
        event=event,
        source="first",
        dest="first",
        at=at,
    )


@pytest.fixture
def add_workflow(workflow_core, callbacks):
    """Add a one-step workflow running `task`; `extra` holds more YAML lines of the step."""

    def add(name: str, task: str, params: str = "{}", extra: str = "") -> None:
        text = ONE_STEP.format(name=name, task=task, params=params, extra=extra)
        result = load_text(text, f"{name}.yaml", callbacks, task_types=workflow_core.tasks)
        assert result.problems == []
        workflow_core.definitions.add(result.definition)

    return add


@pytest.fixture
def add_template(workflow_core, callbacks):
    """Add a workflow template written in YAML (it must load without problems)."""

    def add(text: str) -> None:
        result = load_text(text, "template.yaml", callbacks, task_types=workflow_core.tasks)
        assert result.problems == []
        workflow_core.definitions.add(result.definition)

    return add


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def calls():
    """(run_id, step) -> how many times the `counted` task ran for it."""
    return Counter()


@pytest.fixture
def tasks(calls):
    registry = builtin_tasks()
    lock = threading.Lock()

    @registry.task("counted")
    def counted(ctx):
        with lock:
            calls[(ctx.run_id, ctx.step)] += 1
        return dict(ctx.params)

    return registry


class Gate:
    """A task handler that blocks until the test opens the gate (or a minute passes)."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.opened = threading.Event()

    def __call__(self, ctx) -> dict:
        self.entered.release()
        self.opened.wait(60)
        return {"late": True}

    def wait_entered(self) -> None:
        assert self.entered.acquire(timeout=15), "the handler never started"


@pytest.fixture
def gate(tasks):
    """The task type `hang`: its handler holds its worker until the test opens the gate."""
    gate = Gate()
    tasks.task("hang")(gate)
    yield gate
    gate.opened.set()


@pytest.fixture
def capacity():
    return 100


@pytest.fixture
def workflow_core(callbacks, tasks, clock, capacity, backend):
    definitions = DefinitionRegistry()
    definitions.load([MACHINES, TEST_MACHINES / "workflows"], callbacks, task_types=tasks)
    store = make_store(backend, clock, capacity=capacity, history_cap=200)
    core = OpsCore(definitions, store, callbacks, tasks, clock=clock, rng=random.Random(7))
    core.start(4)
    yield core
    core.stop()
    close_store(store)


@pytest.fixture
def workflow_app(workflow_core):
    """The Flask app over `workflow_core`, accepting the key in AUTH (suites alias it `app`)."""
    return create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=workflow_core)


class FlakyServer:
    """A local HTTP server answering 503 `failures` times, then 200 with a JSON report."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures = failures
        self.status = status
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                if server.hits <= server.failures:
                    self.send_response(server.status)
                    self.end_headers()
                    return
                body = json.dumps({"report": "ok", "hits": server.hits}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/report"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky_server():
    servers = []

    def make(failures: int, status: int = 503) -> FlakyServer:
        servers.append(FlakyServer(failures, status))
        return servers[-1]

    yield make
    for server in servers:
        server.close()
