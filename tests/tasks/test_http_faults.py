"""The `http` task against faulty servers: each fault is a named, recorded, retryable error.

Each small server below misbehaves in one way. The timeouts are real (the http task
waits on a socket), so they are kept short; nothing here sleeps to synchronise.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from opscore.definitions import load_text
from opscore.tasks import TaskContext, TaskError
from opscore.tasks.http import http_task
from tests.support.polling import poll_until
from tests.support.workflows import run_state

Behaviour = Callable[[socket.socket, threading.Event], None]


def answer(body: bytes, content_type: str = "application/json") -> Behaviour:
    def behave(conn: socket.socket, closing: threading.Event) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + body)

    return behave


def reset(conn: socket.socket, closing: threading.Event) -> None:
    """Close with a TCP reset (RST) instead of answering."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset_mid_body(conn: socket.socket, closing: threading.Event) -> None:
    """Start a 1000-byte answer, send 10 bytes, then reset."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    reset(conn, closing)


def hang_up(conn: socket.socket, closing: threading.Event) -> None:
    """Close cleanly without a word."""


def never_answer(conn: socket.socket, closing: threading.Event) -> None:
    """Keep the connection open, silent, until the test ends."""
    closing.wait(30)


def trickle(conn: socket.socket, closing: threading.Event) -> None:
    """Answer at once, then send the body a byte every 50 ms: each read is quick, the whole
    takes 10 s."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 200\r\n\r\n")
    for _ in range(200):
        if closing.wait(0.05):
            return
        conn.sendall(b"x")


def garbage(conn: socket.socket, closing: threading.Event) -> None:
    """Answer something that is not HTTP."""
    conn.sendall(b"hello there\r\n\r\n")


class FaultyServer:
    """A TCP server whose every connection reads the request, then `behaviour`, then closes."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.closing = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/report"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            self.behaviour(conn, self.closing)

    def close(self) -> None:
        self.closing.set()
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], FaultyServer]]:
    servers: list[FaultyServer] = []

    def start(behaviour: Behaviour) -> FaultyServer:
        servers.append(FaultyServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def call(url: str, timeout: str = "500ms") -> TaskError:
    with pytest.raises(TaskError) as caught:
        http_task(TaskContext({"url": url, "timeout": timeout}, "r", "s", 1, {}, None, None))
    return caught.value


def test_a_connection_reset_is_a_connection_error(serve):
    assert call(serve(reset).url).name == "Http.ConnectionError"


def test_a_reset_in_the_middle_of_the_body_is_a_connection_error(serve):
    assert call(serve(reset_mid_body).url).name == "Http.ConnectionError"


def test_a_server_hanging_up_without_an_answer_is_a_connection_error(serve):
    assert call(serve(hang_up).url).name == "Http.ConnectionError"


def test_a_server_that_never_answers_is_a_timeout(serve):
    started = time.monotonic()
    error = call(serve(never_answer).url)
    assert (error.name, error.message) == ("Http.Timeout", "no answer within 0.5 s")
    assert time.monotonic() - started < 5


def test_a_body_trickling_past_the_timeout_is_a_timeout_not_a_wait_for_all_of_it(serve):
    # Each byte came within the socket's timeout, so the whole body used to be awaited.
    started = time.monotonic()
    error = call(serve(trickle).url)
    assert (error.name, error.message) == ("Http.Timeout", "the response took more than 0.5 s")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"a": NaN}', b'{"a": Infinity}', b"[" * 100_000, b"\xff\xfe"],
    ids=["malformed", "nan", "infinity", "nested-too-deep", "not-utf8"],
)
def test_a_json_answer_that_is_not_json_is_an_invalid_response(serve, body):
    assert call(serve(answer(body)).url).name == "Http.InvalidResponse"


def test_an_answer_that_is_not_http_is_an_invalid_response(serve):
    assert call(serve(garbage).url).name == "Http.InvalidResponse"


RETRIED = """
kind: workflow
name: fetch_{name}
version: 1
input: {{type: object, required: [url], properties: {{url: {{type: string}}}}}}
start: fetch
steps:
  fetch:
    task: http
    params: {{url: $.input.url, timeout: 500ms}}
    retry:
      - errors: [Http.ConnectionError, Http.Timeout, Http.InvalidResponse]
        interval: 10s
        max_attempts: 1
    next: succeeded
"""


@pytest.mark.parametrize("backend", ["memory://"])
@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (reset, "Http.ConnectionError"),
        (never_answer, "Http.Timeout"),
        (answer(b"{not json"), "Http.InvalidResponse"),
    ],
    ids=["reset", "slow", "invalid-json"],
)
def test_a_faulty_server_fails_the_attempt_with_its_error_recorded_and_the_step_retried(
    workflow_core, callbacks, serve, clock, behaviour, error
):
    name = error.split(".")[1].lower()
    text = RETRIED.format(name=name)
    definition = load_text(text, "t.yaml", callbacks, task_types=workflow_core.tasks).definition
    workflow_core.definitions.add(definition)
    run = workflow_core.runs.start(f"fetch_{name}", {"url": serve(behaviour).url})

    def retrying():
        record = run_state(workflow_core, run.id).steps["fetch"]
        return record if record.status == "retrying" else None

    [attempt] = poll_until(retrying, what="the retry").attempts
    assert (attempt.outcome, attempt.error.name, attempt.retry_in) == (
        "failed",
        error,
        10.0,
    )
    clock.advance(10)
    failed = poll_until(lambda: workflow_core.runs.get(run.id).state == "failed" or None)
    assert failed
    second = run_state(workflow_core, run.id).steps["fetch"].attempts[1]
    assert second.error.name == error
