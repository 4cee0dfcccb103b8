"""Task types: built-ins, custom ones, and what happens when a handler misbehaves."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opscore.tasks import TaskContext, TaskError, TaskRegistry, TaskType
from opscore.tasks.http import http_task
from tests.support.polling import poll_until
from tests.support.workflows import finished


def test_a_raising_handler_fails_only_its_step_and_the_workers_go_on(
    workflow_core, tasks, add_workflow
):
    tasks.task("explode")(lambda ctx: 1 / 0)
    add_workflow("explodes", "explode")
    bad = workflow_core.runs.start("explodes")
    good = workflow_core.runs.start("three_noops")
    failed = poll_until(lambda: finished(workflow_core, bad.id))
    assert failed.context["error"] == {
        "name": "States.TaskFailed",
        "message": "ZeroDivisionError: division by zero",
        "step": "only",
    }
    assert poll_until(lambda: finished(workflow_core, good.id)).state == "succeeded"


def test_a_handler_returning_garbage_fails_its_step_with_invalid_output(
    workflow_core, tasks, add_workflow
):
    tasks.task("garbage")(lambda ctx: {"when": object()})
    add_workflow("garbage_out", "garbage")
    run = workflow_core.runs.start("garbage_out")
    failed = poll_until(lambda: finished(workflow_core, run.id))
    assert failed.context["error"]["name"] == "States.InvalidOutput"


def test_a_task_output_over_64_kib_fails_its_step_naming_the_limit(
    workflow_core, tasks, add_workflow
):
    tasks.task("verbose")(lambda ctx: {"text": "x" * 70_000})
    add_workflow("too_much", "verbose")
    run = workflow_core.runs.start("too_much")
    failed = poll_until(lambda: finished(workflow_core, run.id))
    assert failed.context["error"] == {
        "name": "States.InvalidOutput",
        "message": "the task's output is 70011 bytes; the limit is 65536 (OPSCORE_MAX_JSON_BYTES)",
        "step": "only",
    }


def test_named_task_errors_reach_the_run(workflow_core, tasks, add_workflow):
    def refuse(ctx):
        raise TaskError("Billing.QuotaExceeded", "no credits left")

    tasks.task("refuse")(refuse)
    add_workflow("refused", "refuse")
    run = workflow_core.runs.start("refused")
    failed = poll_until(lambda: finished(workflow_core, run.id))
    assert failed.context["error"]["name"] == "Billing.QuotaExceeded"


def test_agent_event_task_fires_on_the_runs_agent(workflow_core, add_workflow):
    agent = workflow_core.agents.register(agent_id="worker")
    add_workflow("poke", "agent_event", "{event: activate, data: {why: poke}}")
    run = workflow_core.runs.start("poke", agent_id=agent.id)
    done = poll_until(lambda: finished(workflow_core, run.id))
    assert done.context["output"] == {"agent_id": "worker", "state": "active", "seq": 1}
    assert workflow_core.agents.history("worker").items[0].data == {"why": "poke"}


def test_agent_event_task_refused_by_the_agent_fails_the_step(workflow_core, add_workflow):
    workflow_core.agents.register(agent_id="worker")
    add_workflow("bad_poke", "agent_event", "{event: complete}")
    run = workflow_core.runs.start("bad_poke", agent_id="worker")
    failed = poll_until(lambda: finished(workflow_core, run.id))
    assert failed.context["error"]["name"] == "Agent.EventNotAllowed"


def test_parameter_reference_to_nothing_fails_with_path_failure(workflow_core, add_workflow):
    add_workflow("bad_ref", "noop", "{value: $.input.missing}")
    run = workflow_core.runs.start("bad_ref", {})
    failed = poll_until(lambda: finished(workflow_core, run.id))
    assert failed.context["error"]["name"] == "States.ParameterPathFailure"


def test_custom_task_types_load_from_entry_points(monkeypatch):
    class Entry:
        name = "summarize"

        @staticmethod
        def load():
            return lambda ctx: {"summary": "short"}

    monkeypatch.setattr(
        "opscore.tasks.entry_points", lambda group: [Entry] if group == "opscore.tasks" else []
    )
    registry = TaskRegistry()
    registry.load_entry_points()
    assert registry.has_task_type("summarize")


@pytest.mark.parametrize("name", ["os.system", "a b", "-ab", "", "a" * 65])
def test_task_type_names_cannot_be_dotted_paths_or_break_the_name_rule(name):
    with pytest.raises(ValueError, match="invalid task type name"):
        TaskRegistry().add(TaskType(name, lambda ctx: None))


def test_task_type_names_may_contain_hyphens():
    registry = TaskRegistry()
    registry.add(TaskType("send-mail", lambda ctx: None))
    assert registry.has_task_type("send-mail")


def http_context(**params) -> TaskContext:
    return TaskContext(params, "r", "s", 1, {}, None, None)


@pytest.fixture
def server():
    """A local server whose answer each test sets: (status, content type, body)."""
    answer = {"value": (200, "application/json", b"{}")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, content_type, body = answer["value"]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield answer, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_http_task_returns_status_and_parsed_json(server):
    answer, url = server
    answer["value"] = (200, "application/json", b'{"a": 1}')
    assert http_task(http_context(url=url)) == {
        "status": 200,
        "content_type": "application/json",
        "body": {"a": 1},
    }


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error"),
    [
        (503, "text/plain", b"busy", "Http.ServerError"),
        (404, "text/plain", b"", "Http.ClientError"),
        (200, "application/json", b"{not json", "Http.InvalidResponse"),
    ],
)
def test_http_task_errors_are_named_for_retriers(server, status, content_type, body, error):
    answer, url = server
    answer["value"] = (status, content_type, body)
    with pytest.raises(TaskError) as caught:
        http_task(http_context(url=url))
    assert caught.value.name == error


def test_http_task_against_a_closed_port_is_a_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TaskError) as caught:
        http_task(http_context(url=f"http://127.0.0.1:{port}/"))
    assert caught.value.name == "Http.ConnectionError"


@pytest.mark.parametrize(
    "params",
    [
        {"url": "file:///etc/passwd"},
        {"url": "ftp://x/"},
        {"url": "http://x", "method": "BREW"},
        {"url": "http://x", "headers": {"a": 1}},
        {"url": "http://x", "timeout": "forever"},
    ],
)
def test_http_task_refuses_bad_parameters(params):
    with pytest.raises(TaskError) as caught:
        http_task(http_context(**params))
    assert caught.value.name == "Task.InvalidParameters"
