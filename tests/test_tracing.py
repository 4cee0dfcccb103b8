"""OpenTelemetry traces: off by default, on through OTEL_* variables; spans per HTTP request,
run, step attempt and task handed to an agent, with GenAI names; trace ids in log lines."""

from __future__ import annotations

import io
import json

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from opscore import tracing
from opscore.api import create_app
from opscore.logs import configure_logging
from tests.support.constants import API_KEY, AUTH
from tests.support.polling import poll_until

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans():
    """Traces on, exported to memory; off again after the test."""
    exporter = InMemorySpanExporter()
    tracing.configure_tracing({}, exporter=exporter)
    yield exporter
    tracing.disable_tracing()


@pytest.fixture
def traced(spans, service_core):
    """A client of the service (with step workers) while traces are on."""
    return create_app(
        {"api_keys": API_KEY, "log_level": "WARNING"}, core=service_core
    ).test_client()


def named(spans, prefix):
    return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "ops"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.invalid:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector.invalid:4318/v1/traces"}, True),
        (
            {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c.invalid"},
            False,
        ),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_traces_are_on_only_when_the_standard_otel_variables_ask(env, wanted):
    assert tracing.wanted(env) is wanted


def test_without_otel_variables_traces_stay_off_and_spans_are_no_ops():
    assert tracing.configure_tracing({}) is False
    assert not tracing.enabled()
    with tracing.span("nothing") as span:
        assert span is None


def test_otel_variables_switch_on_an_otlp_exporter():
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SERVICE_NAME": "ops-test"}
    try:
        assert tracing.configure_tracing(env) is True
        exporters = [
            type(p.span_exporter).__name__
            for p in tracing._provider._active_span_processor._span_processors
        ]
        assert exporters == ["OTLPSpanExporter"]
        assert tracing._provider.resource.attributes["service.name"] == "ops-test"
    finally:
        tracing.disable_tracing()
    assert not tracing.enabled()


def test_each_http_request_is_a_server_span_named_by_its_route(traced, spans):
    traced.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    assert traced.get("/v1/agents/a1", headers=AUTH).status_code == 200
    [span] = named(spans, "GET ")
    assert span.name == "GET /v1/agents/{agent_id}"
    assert span.kind is SpanKind.SERVER
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["gen_ai.agent.id"] == "a1"
    assert span.attributes["url.path"] == "/v1/agents/a1"


def test_a_request_span_continues_the_clients_traceparent(traced, spans):
    traced.get("/v1/agents", headers={**AUTH, "traceparent": TRACEPARENT})
    [span] = named(spans, "GET ")
    assert f"{span.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert f"{span.parent.span_id:016x}" == TRACEPARENT.split("-")[2]


def test_a_session_event_span_names_the_session_as_the_conversation(traced, spans):
    traced.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    session = traced.post("/v1/agents/a1/sessions", json={}, headers=AUTH).json
    traced.post(f"/v1/sessions/{session['id']}/events", json={"event": "start"}, headers=AUTH)
    [span] = named(spans, "POST /v1/sessions/")
    assert span.attributes["gen_ai.conversation.id"] == session["id"]


def test_json_log_lines_carry_the_trace_id_of_their_request(traced, spans):
    lines = io.StringIO()
    configure_logging("INFO", "json", stream=lines)
    traced.get("/v1/agents", headers=AUTH)
    [span] = named(spans, "GET ")
    [access] = [json.loads(line) for line in lines.getvalue().splitlines() if "/v1/agents" in line]
    assert access["trace_id"] == f"{span.context.trace_id:032x}"
    assert access["span_id"] == f"{span.context.span_id:016x}"


def test_a_transition_line_carries_the_trace_id_of_its_request(traced, spans):
    traced.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    lines = io.StringIO()
    configure_logging("INFO", "json", stream=lines)
    traced.post("/v1/agents/a1/events", json={"event": "activate"}, headers=AUTH)
    [span] = named(spans, "POST /v1/agents/")
    [line] = [json.loads(line) for line in lines.getvalue().splitlines() if '"event"' in line]
    assert (line["event"], line["trace_id"]) == ("activate", f"{span.context.trace_id:032x}")


def test_without_traces_log_lines_have_no_trace_id(client):
    lines = io.StringIO()
    configure_logging("INFO", "json", stream=lines)
    client.get("/v1/agents", headers=AUTH)
    assert all("trace_id" not in json.loads(line) for line in lines.getvalue().splitlines())


def test_a_run_is_one_trace_its_own_span_parent_of_each_step_attempt(traced, spans):
    run = traced.post("/v1/workflows/three_noops/runs", json={}, headers=AUTH).json
    [finished] = poll_until(lambda: named(spans, "run three_noops"), what="the run's span")
    steps = named(spans, "execute_tool")
    assert [s.attributes["opscore.step"] for s in steps] == ["one", "two", "three"]
    assert {s.attributes["gen_ai.operation.name"] for s in steps} == {"execute_tool"}
    assert {s.context.trace_id for s in steps} == {finished.context.trace_id}
    assert {s.parent.span_id for s in steps} == {finished.context.span_id}
    assert finished.parent is None
    assert finished.attributes["opscore.run.id"] == run["id"]
    assert finished.attributes["opscore.run.state"] == "succeeded"


def test_a_step_handed_to_an_agent_is_an_invoke_agent_span(traced, spans):
    traced.post("/v1/agents", json={"id": "helper"}, headers=AUTH)
    body = {"agent_id": "helper"}
    run = traced.post("/v1/workflows/prepare_then_ask/runs", json=body, headers=AUTH).json
    poll_until(
        lambda: traced.get("/v1/agents/helper/tasks", headers=AUTH).json, what="the agent's task"
    )
    done = {"output": {"answer": 42}}
    traced.post(f"/v1/runs/{run['id']}/steps/ask/complete", json=done, headers=AUTH)
    poll_until(lambda: named(spans, "run prepare_then_ask"), what="the run's span")
    [asked] = named(spans, "invoke_agent")
    assert asked.name == "invoke_agent helper"
    assert asked.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert asked.attributes["gen_ai.agent.id"] == "helper"
    assert asked.attributes["opscore.step"] == "ask"


def test_a_failed_attempt_span_carries_its_error(traced, spans):
    body = {"input": {"url": "ftp://example.com/report.json"}}
    traced.post("/v1/workflows/fetch_report/runs", json=body, headers=AUTH)
    [run] = poll_until(lambda: named(spans, "run fetch_report"), what="the run's span")
    [fetch] = named(spans, "execute_tool http")
    assert fetch.status.status_code is StatusCode.ERROR
    assert fetch.attributes["error.type"] == "Task.InvalidParameters"
    assert run.status.status_code is StatusCode.ERROR
