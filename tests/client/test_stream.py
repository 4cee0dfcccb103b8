"""`OpsCoreClient.events()` against a local server serving canned Server-Sent Events."""

from __future__ import annotations

import itertools

import pytest

from opscore.client import (
    ApiError,
    Dropped,
    Gap,
    OpsCoreClient,
    ServerError,
    Transition,
    TransportError,
    Unauthorized,
)
from tests.support.constants import API_KEY
from tests.support.sse_server import DROPPED, GAP, Reply, transition


@pytest.fixture
def follow(sleeps):
    """Take `count` events from a client's stream on `server`, closing the stream after."""

    def take(server, count, **filters):
        client = OpsCoreClient(server.url, API_KEY, sleep=sleeps.append)
        with client.events(**filters) as stream:
            return list(itertools.islice(stream, count))

    return take


def test_transitions_arrive_typed_with_the_filters_in_the_query(sse_server, follow):
    server = sse_server([Reply([b": hello\n\n", transition(1), transition(2, event="pause")])])
    events = follow(server, 2, agent_id="a1", kind="agent")
    assert [(e.gid, e.event) for e in events] == [(1, "activate"), (2, "pause")]
    assert all(isinstance(e, Transition) for e in events)
    [request] = server.requests
    assert request.path == "/v1/events/stream?agent_id=a1&kind=agent"
    assert (request.headers["Accept"], request.headers["X-API-Key"]) == (
        "text/event-stream",
        API_KEY,
    )
    assert "Last-Event-ID" not in request.headers


def test_after_the_stream_ends_it_reconnects_and_resumes_from_the_last_id(
    sse_server, follow, sleeps
):
    server = sse_server([Reply([transition(1), transition(2)]), Reply([transition(3)])])
    events = follow(server, 3, run_id="r1", machine="review_document")
    assert [e.gid for e in events] == [1, 2, 3]
    assert server.requests[1].headers["Last-Event-ID"] == "2"
    assert server.requests[1].path == "/v1/events/stream?run_id=r1&machine=review_document"
    assert sleeps == [0.2]


def test_reconnection_waits_the_retry_the_server_asked_for(sse_server, follow, sleeps):
    server = sse_server([Reply([b"retry: 1500\n\n", transition(1)]), Reply([transition(2)])])
    follow(server, 2)
    assert sleeps == [1.5]


def test_dropped_is_reported_and_the_stream_resumes_after_the_last_id(sse_server, follow):
    server = sse_server([Reply([transition(1), DROPPED], hold=True), Reply([transition(2)])])
    events = follow(server, 3)
    assert events[1] == Dropped("slow client")
    assert [e.gid for e in (events[0], events[2])] == [1, 2]
    assert server.requests[1].headers["Last-Event-ID"] == "1"


def test_a_gap_is_reported_with_what_was_lost(sse_server, follow):
    server = sse_server([Reply([GAP, transition(10)])])
    events = follow(server, 2, last_event_id=2)
    assert events[0] == Gap(requested=2, oldest=10)
    assert server.requests[0].headers["Last-Event-ID"] == "2"


def test_a_silent_connection_is_lost_after_the_read_timeout_and_resumed(sse_server, sleeps):
    server = sse_server([Reply([transition(1)], hold=True), Reply([transition(2)])])
    client = OpsCoreClient(server.url, API_KEY, sleep=sleeps.append)
    with client.events(read_timeout=0.2) as stream:
        events = list(itertools.islice(stream, 2))
    assert [e.gid for e in events] == [1, 2]
    assert server.requests[1].headers["Last-Event-ID"] == "1"


def test_the_last_event_id_is_kept_for_resuming_later(sse_server, sleeps):
    server = sse_server([Reply([transition(1), b"id: 5\n\n"])])
    client = OpsCoreClient(server.url, API_KEY, sleep=sleeps.append)
    with client.events() as stream:
        next(stream)
        assert stream.last_event_id == "1"


def test_an_unauthorized_answer_is_raised_without_reconnecting(sse_server, follow):
    body = b'{"code": 401, "status": "Unauthorized", "message": "a valid X-API-Key is required"}'
    server = sse_server([Reply([body], status=401, content_type="application/json")])
    with pytest.raises(Unauthorized, match="X-API-Key"):
        follow(server, 1)
    assert len(server.requests) == 1


def test_an_unavailable_server_is_retried_then_raised(sse_server, follow, sleeps):
    server = sse_server([Reply(status=503, headers={"Retry-After": "1"}) for _ in range(4)])
    with pytest.raises(ServerError):
        follow(server, 1)
    assert (len(server.requests), sleeps) == (4, [1.0, 1.0, 1.0])


def test_connections_that_keep_ending_without_data_give_up(sse_server, follow, sleeps):
    server = sse_server([Reply() for _ in range(4)])
    with pytest.raises(TransportError, match="keeps ending"):
        follow(server, 1)
    assert sleeps == [0.2, 0.4, 0.8]


def test_an_answer_that_is_not_an_event_stream_is_an_error(sse_server, follow):
    server = sse_server([Reply([b"[]"], content_type="application/json")])
    with pytest.raises(ApiError, match="not an event stream"):
        follow(server, 1)
    assert len(server.requests) == 1


def test_events_follow_the_real_servers_stream_and_resume_after_a_reconnect(api, service_core):
    service_core.agents.register(agent_id="streamed")
    for event in ("activate", "complete", "activate"):
        service_core.agents.fire_event("streamed", event)
    stream = api.events(agent_id="streamed", last_event_id=0, read_timeout=10)
    try:
        first = [next(iter(stream)), next(iter(stream))]
    finally:
        stream.close()
    assert [(e.instance_id, e.event) for e in first] == [
        ("streamed", "activate"),
        ("streamed", "complete"),
    ]
    resumed = api.events(agent_id="streamed", last_event_id=first[-1].gid, read_timeout=10)
    try:
        [third] = [next(iter(resumed))]
    finally:
        resumed.close()
    assert (third.event, third.seq) == ("activate", 3)
