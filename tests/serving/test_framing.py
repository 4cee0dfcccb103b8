"""The request scanner: when buffered bytes make a whole request, and what it hands over."""

from __future__ import annotations

import pytest

from opscore.serving.framing import FramingLimits, RequestScanner, Verdict

LIMITS = FramingLimits(header_bytes=1000, body_bytes=100)
HEAD = b"POST /v1/agents HTTP/1.1\r\nHost: x\r\n"


def verdict_of(*pieces: bytes) -> Verdict:
    scanner = RequestScanner(LIMITS)
    for piece in pieces:
        scanner.feed(piece)
    return scanner.verdict


def test_headers_without_their_blank_line_are_still_arriving():
    assert verdict_of(b"GET /health HTTP/1.1\r\n", b"Host: x\r\n") is Verdict.HEADERS


def test_a_get_is_whole_at_its_blank_line():
    assert verdict_of(b"GET /health HTTP/1.1\r\n", b"Host: x\r\n\r\n") is Verdict.WHOLE


def test_a_body_is_whole_only_once_content_length_bytes_arrived():
    assert verdict_of(HEAD + b"Content-Length: 4\r\n\r\n{}") is Verdict.BODY
    assert verdict_of(HEAD + b"Content-Length: 4\r\n\r\n{}", b"  ") is Verdict.WHOLE


def test_a_chunked_body_is_whole_at_its_last_chunk_fed_byte_by_byte():
    request = HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    scanner = RequestScanner(LIMITS)
    verdicts = [scanner.feed(request[i : i + 1]) for i in range(len(request))]
    assert verdicts[-1] is Verdict.WHOLE
    assert Verdict.WHOLE not in verdicts[:-1]


def test_a_chunked_body_with_trailers_is_whole_after_them():
    request = HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n"
    assert verdict_of(request) is Verdict.BODY
    assert verdict_of(request, b"\r\n") is Verdict.WHOLE


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"zz\r\n{}\r\n0\r\n\r\n", "malformed chunked body: invalid chunk size b'zz'"),
        (b"2\r\n{}XX0\r\n\r\n", "malformed chunked body: chunk data not followed by CRLF"),
        (b"1" * 2000, "malformed chunked body: chunk size line too long"),
    ],
)
def test_a_malformed_chunked_body_is_refused_naming_the_fault(body, problem):
    scanner = RequestScanner(LIMITS, HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert (scanner.verdict, scanner.problem) == (Verdict.MALFORMED, problem)


@pytest.mark.parametrize(
    "request_bytes",
    [
        HEAD + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
        HEAD + b"X-A: a\r\n b\r\n\r\n",
        HEAD + b"Transfer-Encoding: gzip\r\n\r\n",
        HEAD + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
        HEAD + b"Content-Length: -1\r\n\r\n",
        HEAD + b"Content-Length: 101\r\n\r\n",
        b"GET /" + b"a" * 1001,
        b"GET /health HTTP/1.1\nHost: x\n\n",
    ],
    ids=[
        "cl-and-te",
        "folding",
        "unknown-coding",
        "two-lengths",
        "bad-length",
        "too-large",
        "header-too-long",
        "bare-line-feeds",
    ],
)
def test_what_the_parser_must_refuse_is_handed_over_as_it_is(request_bytes):
    scanner = RequestScanner(LIMITS, request_bytes)
    assert scanner.verdict is Verdict.HAND_OVER
    assert scanner.take() == request_bytes


def test_a_chunked_body_past_the_limit_is_handed_over_for_the_app_to_refuse():
    chunk = b"40\r\n" + b"x" * 64 + b"\r\n"
    assert verdict_of(HEAD + b"Transfer-Encoding: chunked\r\n\r\n", chunk, chunk) is (
        Verdict.HAND_OVER
    )


def test_take_returns_the_request_and_what_was_pipelined_after_it():
    pipelined = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n"
    scanner = RequestScanner(LIMITS, pipelined)
    assert (scanner.verdict, scanner.take()) == (Verdict.WHOLE, pipelined)
