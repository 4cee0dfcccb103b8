"""`opscore tail` against a local server serving canned Server-Sent Events."""

from __future__ import annotations

import json

import pytest

from opscore.client import OpsCoreClient
from tests.support.sse_server import DROPPED, GAP, Reply, transition


@pytest.fixture
def tail(cli, sse_server):
    """Run `opscore tail` against a canned stream; (result, the canned server)."""

    def run(replies, *args):
        server = sse_server(replies)
        return cli("tail", "--url", server.url, *args), server

    return run


def test_tail_prints_one_readable_line_per_transition(tail):
    second = transition(2, "r9", "succeed", kind="run", source="fetch", dest="summarize")
    result, _ = tail([Reply([transition(1), second])], "--count", "2")
    assert result.exit_code == 0
    assert result.stdout == (
        "12:00:01 agent a1 activate: idle -> active\n12:00:01 run r9 succeed: fetch -> summarize\n"
    )


def test_tail_passes_its_filters_and_resumes_after_since(tail):
    result, server = tail(
        [Reply([transition(6)])],
        *("--agent-id", "a1", "--run-id", "r1", "--machine", "agent", "--kind", "agent"),
        *("--since", "5", "--count", "1"),
    )
    assert result.exit_code == 0
    [request] = server.requests
    assert request.path == "/v1/events/stream?agent_id=a1&run_id=r1&machine=agent&kind=agent"
    assert request.headers["Last-Event-ID"] == "5"


def test_tail_json_prints_one_object_per_line(tail):
    result, _ = tail([Reply([transition(1), transition(2)])], "--json", "--count", "2")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(t["gid"], t["instance_id"], t["dest"]) for t in lines] == [
        (1, "a1", "active"),
        (2, "a1", "active"),
    ]


def test_tail_reports_lost_events_and_drops_on_stderr_and_keeps_going(tail):
    replies = [Reply([GAP, transition(10), DROPPED], hold=True), Reply([transition(11)])]
    result, server = tail(replies, "--count", "2")
    assert result.exit_code == 0
    assert [line.split()[2] for line in result.stdout.splitlines()] == ["a1", "a1"]
    assert result.stderr == (
        "tail: events lost: asked for those after 2, the oldest kept is 10\n"
        "tail: dropped by the server (slow client); resuming\n"
    )
    assert server.requests[1].headers["Last-Event-ID"] == "10"


def test_tail_of_a_stream_it_may_not_read_exits_5(tail):
    body = b'{"code": 401, "status": "Unauthorized", "message": "a valid X-API-Key is required"}'
    result, _ = tail([Reply([body], status=401, content_type="application/json")])
    assert result.exit_code == 5


class InterruptedStream:
    """An event stream interrupted by Ctrl-C while waiting for its first event."""

    closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        InterruptedStream.closed = True

    def __iter__(self):
        raise KeyboardInterrupt


def test_ctrl_c_stops_tail_quietly_with_exit_0(cli, monkeypatch):
    monkeypatch.setattr(OpsCoreClient, "events", lambda self, **filters: InterruptedStream())
    result = cli("tail")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert InterruptedStream.closed


def test_tail_of_a_service_without_the_stream_exits_3_naming_the_url(cli, sse_server):
    server = sse_server([Reply([b'{"message": "not here"}'], 404, "application/json")])
    result = cli("tail", "--url", server.url)
    assert result.exit_code == 3
    assert result.stderr == f"Error: {server.url}/v1/events/stream: not here\n"


def test_tail_follows_the_real_service_one_line_per_transition(cli, api):
    api.agents.register("live")
    api.agents.send_event("live", "activate")
    api.agents.send_event("live", "complete")
    result = cli("tail", "--agent-id", "live", "--since", "0", "--count", "2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "agent live activate: idle -> active",
        "agent live complete: active -> idle",
    ]


def test_tail_prints_step_events_as_attempts(tail):
    retrying = transition(
        5,
        "r9",
        "retrying",
        kind="step",
        source="fetch",
        dest="fetch",
        data={
            "step": "fetch",
            "attempt": 2,
            "status": "retrying",
            "error": "Http.Timeout",
            "retry_in": 2.0,
        },
    )
    waiting = transition(
        6,
        "r9",
        "waiting",
        kind="step",
        source="ask",
        dest="ask",
        data={"step": "ask", "attempt": 1, "agent_id": "a1"},
    )
    result, _ = tail([Reply([retrying, waiting])], "--count", "2")
    assert result.stdout.splitlines() == [
        "12:00:01 run r9 step fetch attempt 2 retrying in 2s: Http.Timeout",
        "12:00:01 run r9 step ask attempt 1 waiting for agent a1",
    ]


BUSY = Reply(
    [
        b'{"code": 503, "status": "Service Unavailable", "message": "8 live streams are open '
        b'here already (OPSCORE_MAX_STREAMS); retry later"}'
    ],
    503,
    "application/json",
    {"Retry-After": "5"},
)


def test_tail_reconnects_after_the_service_restarts_and_says_so_on_stderr(tail):
    restarted = [Reply(status=503, content_type="text/plain")] * 5  # more than the retries
    replies = [Reply([transition(1)]), *restarted, Reply([transition(2)])]
    result, server = tail(replies, "--count", "2")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2
    notes = result.stderr.splitlines()
    assert len(notes) == 6
    assert (
        notes[0]
        == "tail: the service ended the stream; reconnecting in 0.2s, resuming after event 1"
    )
    assert all("reconnecting in" in note and note.endswith("after event 1") for note in notes)
    assert {request.headers.get("Last-Event-ID") for request in server.requests[1:]} == {"1"}


def test_tail_says_when_the_service_is_at_its_limit_of_streams(tail, sleeps):
    result, _ = tail([BUSY, Reply([transition(1)])], "--count", "1")
    assert result.exit_code == 0
    assert result.stderr == (
        "tail: 503 Service Unavailable: 8 live streams are open here already "
        "(OPSCORE_MAX_STREAMS); retry later; reconnecting in 5s\n"
    )
    assert sleeps == [5]
