"""Logs are one JSON object per line, one line per transition, with the context bound."""

from __future__ import annotations

import ast
import io
import json
import logging
import threading

import pytest
from loguru import logger

from opscore import logs
from opscore.logs import (
    JsonLines,
    TransitionLine,
    configure_logging,
    encode_line,
    info_fields,
    request_id,
)


def test_each_transition_writes_one_json_line_with_its_context(core, json_logs):
    agent = core.agents.register()
    core.agents.fire_event(agent.id, "activate")
    lines = [line for line in json_logs() if line.get("event")]
    assert len(lines) == 1
    line = lines[0]
    assert set(line) >= {"time", "level", "message", "agent_id", "event", "source", "dest", "seq"}
    assert (line["level"], line["agent_id"], line["event"], line["source"], line["dest"]) == (
        "INFO",
        agent.id,
        "activate",
        "idle",
        "active",
    )
    assert line["message"] == f"agent {agent.id} activate: idle -> active"


def test_session_transition_lines_name_the_session_and_its_agent(core, json_logs):
    agent = core.agents.register()
    session = core.sessions.open(agent.id)
    core.sessions.fire_event(session.id, "start")
    [line] = [line for line in json_logs() if line.get("event") == "start"]
    assert (line["session_id"], line["agent_id"]) == (session.id, agent.id)


def test_request_id_is_bound_to_every_line_logged_while_it_is_set(core, json_logs):
    token = request_id.set("req-42")
    try:
        agent = core.agents.register()
        core.agents.fire_event(agent.id, "activate")
    finally:
        request_id.reset(token)
    assert {line.get("request_id") for line in json_logs()} == {"req-42"}


def test_stdlib_logging_is_routed_into_the_json_lines(json_logs):
    logging.getLogger("some.library").warning("disk %s", "full")
    [line] = json_logs()
    assert (line["level"], line["message"], line["logger"]) == (
        "WARNING",
        "disk full",
        "some.library",
    )


def test_exceptions_are_logged_without_local_variable_values(json_logs):
    secret = "hunter2"  # noqa: F841 - diagnose would print this local's value
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("failed")
    [line] = json_logs()
    assert "ValueError: bad" in line["exception"]
    assert "hunter2" not in json.dumps(line)


def test_text_format_and_level_are_configurable():
    buffer = io.StringIO()
    configure_logging("WARNING", "text", stream=buffer)
    logger.info("hidden")
    logger.warning("shown")
    assert "hidden" not in buffer.getvalue()
    assert "| WARNING | shown" in buffer.getvalue()


@pytest.mark.parametrize("form", ["json", "text"])
def test_braces_in_a_logged_name_are_written_as_they_are(form):
    buffer = io.StringIO()
    configure_logging("INFO", form, stream=buffer)
    info_fields("GET /v1/agents/{x} 404 1.0ms", {"path": "/v1/agents/{x}"})
    configure_logging("WARNING", "text", stream=io.StringIO())
    assert "GET /v1/agents/{x} 404 1.0ms" in buffer.getvalue()


def test_a_transition_in_text_format_is_one_line_with_its_message(core):
    buffer = io.StringIO()
    configure_logging("INFO", "text", stream=buffer)
    agent = core.agents.register()
    core.agents.fire_event(agent.id, "activate")
    configure_logging("WARNING", "text", stream=io.StringIO())
    [line] = [line for line in buffer.getvalue().splitlines() if " activate: " in line]
    level, message, fields = line.split(" | ")[1:]
    assert (level.strip(), message) == ("INFO", f"agent {agent.id} activate: idle -> active")
    assert ast.literal_eval(fields) == {
        "agent_id": agent.id,
        "event": "activate",
        "source": "idle",
        "dest": "active",
        "seq": 1,
    }


def test_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="log format"):
        configure_logging("INFO", "xml")


def test_a_line_orjson_refuses_is_still_written_escaped(json_logs):
    logger.info("odd values", lone="\udc80", huge=2**70)
    (line,) = json_logs()
    assert (line["lone"], line["huge"]) == ("\udc80", 2**70)


@pytest.mark.parametrize("size", [100, 3000, 20_000], ids=["short", "near-pipe-buf", "long"])
def test_lines_written_by_many_threads_at_once_stay_whole(tmp_path, size):
    sink_path = tmp_path / "lines.jsonl"
    threads, lines_each = 8, 200
    with open(sink_path, "w") as stream:
        sink = JsonLines(stream)
        start = threading.Barrier(threads)

        def write(n):
            start.wait()
            for i in range(lines_each):
                sink.write_line({"thread": n, "i": i, "pad": "x" * size})

        workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    lines = [json.loads(line) for line in sink_path.read_text().splitlines()]
    assert sorted((line["thread"], line["i"]) for line in lines) == [
        (n, i) for n in range(threads) for i in range(lines_each)
    ]


@pytest.mark.parametrize(
    ("kind", "instance_id", "agent_id", "rid"),
    [
        ("agent", "a1", None, None),
        ("session", "s1", "a1", None),
        ("run", "r1", None, "req-7"),
        ("session", 'odd "id"\\ é ☃', 'ag\n"1"', 'r"q'),
    ],
    ids=["agent", "session-of-agent", "run-in-request", "escaped"],
)
def test_a_transition_line_is_byte_for_byte_the_line_its_fields_encode_to(
    monkeypatch, kind, instance_id, agent_id, rid
):
    monkeypatch.setattr(logs, "line_time", lambda: "2025-12-04T00:00:00.123Z")
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    line = TransitionLine(kind, "go", "idle", 'busy "now"')
    token = request_id.set(rid)
    try:
        line.write(instance_id, 3, agent_id)
        expected = line.fields(instance_id, 3, agent_id)
    finally:
        request_id.reset(token)
        configure_logging("WARNING", "text", stream=io.StringIO())
    if rid is not None:
        expected["request_id"] = rid
    assert buffer.getvalue().encode() == encode_line(expected)
    assert (
        json.loads(buffer.getvalue())["message"] == f'{kind} {instance_id} go: idle -> busy "now"'
    )


def test_a_transition_line_orjson_refuses_is_still_written_escaped(json_logs):
    TransitionLine("agent", "go", "idle", "busy").write("\udc80", 1, None)
    [line] = json_logs()
    assert (line["agent_id"], line["seq"]) == ("\udc80", 1)


def test_a_transition_line_below_the_level_is_not_written(tmp_path):
    buffer = io.StringIO()
    configure_logging("WARNING", "json", stream=buffer)
    TransitionLine("agent", "go", "idle", "busy").write("a1", 1, None)
    assert buffer.getvalue() == ""


def test_line_times_are_utc_milliseconds_each_made_once(monkeypatch):
    clock = logs._Clock()
    now = iter([1_764_806_400.1234, 1_764_806_400.1237, 1_764_806_400.1241, 1_764_806_401.0])
    monkeypatch.setattr(logs.time, "time", lambda: next(now))
    times = [clock.now() for _ in range(4)]
    assert times == [
        "2025-12-04T00:00:00.123Z",
        "2025-12-04T00:00:00.123Z",
        "2025-12-04T00:00:00.124Z",
        "2025-12-04T00:00:01.000Z",
    ]
    assert times[1] is times[0]  # made once for its millisecond
