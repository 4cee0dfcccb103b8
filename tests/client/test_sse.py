"""The Server-Sent Events decoder, fed fake streams in chunks of every size."""

from __future__ import annotations

import pytest

from opscore.client import Dropped, Gap, ServerSentEvent, SseDecoder, Transition
from opscore.client.sse import SseProtocolError, decode_events
from opscore.client.stream import stream_event

TRANSITION = (
    '{"gid": 7, "kind": "agent", "instance_id": "a1", "agent_id": "a1", "run_id": null, '
    '"machine": "agent", "version": 1, "seq": 1, "event": "activate", "source": "idle", '
    '"dest": "active", "at": "2026-11-24T12:00:01.000000Z", "data": {"task": "x"}}'
)


def decode(stream: bytes, chunk: int | None = None) -> list[ServerSentEvent]:
    if chunk is None:
        return list(decode_events([stream]))
    return list(decode_events(stream[i : i + chunk] for i in range(0, len(stream), chunk)))


def test_an_event_has_its_id_type_and_data():
    assert decode(b"id: 7\nevent: transition\ndata: {}\n\n") == [
        ServerSentEvent("transition", "{}", "7")
    ]


def test_data_lines_join_with_newlines():
    [event] = decode(b"data: first\ndata:\ndata: third\n\n")
    assert event.data == "first\n\nthird"


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_every_line_ending_is_understood(newline):
    stream = newline.join([b"id: 1", b"event: gap", b"data: x", b"", b"data: y", b"", b""])
    assert decode(stream) == [
        ServerSentEvent("gap", "x", "1"),
        ServerSentEvent("message", "y", "1"),
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
def test_chunks_of_any_size_give_the_same_events(chunk):
    stream = (
        b"\xef\xbb\xbf: hello\r\nid: 1\r\nevent: transition\r\ndata: caf\xc3\xa9 \xe2\x9c\x93\r\n"
        b"\r\nid: 2\rdata: b\r\rdata: c\n\n"
    )
    assert (
        decode(stream, chunk)
        == decode(stream)
        == [
            ServerSentEvent("transition", "café ✓", "1"),
            ServerSentEvent("message", "b", "2"),
            ServerSentEvent("message", "c", "2"),
        ]
    )


def test_a_crlf_split_between_chunks_is_one_line_ending():
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # the rest of "\r\n", not a blank line
    assert decoder.feed(b"\r\n") == [ServerSentEvent("message", "a", None)]


def test_comments_are_ignored():
    assert decode(b": keep-alive\n\n:\n\ndata: x\n: between\n\n") == [
        ServerSentEvent("message", "x", None)
    ]


def test_missing_event_type_is_message_and_the_last_id_carries_over():
    events = decode(b"id: 5\ndata: a\n\ndata: b\n\n")
    assert [(e.event, e.id) for e in events] == [("message", "5"), ("message", "5")]


def test_an_event_without_data_is_not_dispatched_but_its_id_counts():
    decoder = SseDecoder()
    assert decoder.feed(b"id: 9\nevent: transition\n\n") == []
    assert decoder.last_event_id == "9"
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent("message", "x", "9")]


def test_a_field_without_a_colon_has_an_empty_value():
    assert decode(b"data\n\n") == [ServerSentEvent("message", "", None)]


def test_only_one_space_after_the_colon_is_removed():
    [event] = decode(b"data:  two spaces\n\n")
    assert event.data == " two spaces"


def test_an_event_cut_off_by_the_end_of_the_stream_is_dropped():
    assert decode(b"data: complete\n\ndata: cut") == [ServerSentEvent("message", "complete", None)]


def test_retry_sets_the_reconnection_delay_and_non_digits_are_ignored():
    decoder = SseDecoder()
    decoder.feed(b"retry: 1500\n\nretry: soon\n\n")
    assert decoder.retry == 1500


def test_an_id_containing_nul_is_ignored():
    decoder = SseDecoder()
    decoder.feed(b"id: 1\n\nid: 2\x00\n\n")
    assert decoder.last_event_id == "1"


def test_unknown_fields_are_ignored():
    assert decode(b"colour: blue\ndata: x\n\n") == [ServerSentEvent("message", "x", None)]


def test_a_line_longer_than_the_limit_is_a_protocol_error():
    decoder = SseDecoder(max_event_chars=10)
    with pytest.raises(SseProtocolError):
        decoder.feed(b"data: " + b"x" * 20)


def test_an_event_larger_than_the_limit_is_a_protocol_error():
    decoder = SseDecoder(max_event_chars=10)
    with pytest.raises(SseProtocolError):
        decoder.feed(b"data: 12345\ndata: 12345\n")


def test_a_transition_event_becomes_a_transition():
    event = stream_event(ServerSentEvent("transition", TRANSITION, "7"))
    assert event == Transition(
        gid=7,
        kind="agent",
        instance_id="a1",
        machine="agent",
        version=1,
        seq=1,
        event="activate",
        source="idle",
        dest="active",
        at="2026-11-24T12:00:01.000000Z",
        agent_id="a1",
        run_id=None,
        data={"task": "x"},
    )


def test_a_transition_without_gid_takes_the_event_id():
    event = stream_event(ServerSentEvent("transition", '{"kind": "run", "seq": 2}', "41"))
    assert (event.gid, event.kind, event.seq, event.data) == (41, "run", 2, {})


def test_gap_and_dropped_events_are_typed():
    assert stream_event(ServerSentEvent("gap", '{"requested": 3, "oldest": 90}')) == Gap(3, 90)
    assert stream_event(ServerSentEvent("dropped", '{"reason": "slow"}')) == Dropped("slow")


@pytest.mark.parametrize(
    "event",
    [
        ServerSentEvent("heartbeat", "{}"),
        ServerSentEvent("transition", "not json"),
        ServerSentEvent("transition", "[1, 2]"),
        ServerSentEvent("transition", '{"gid": null, "seq": "first"}'),
    ],
)
def test_unknown_types_and_bad_data_are_skipped(event):
    assert stream_event(event) is None
