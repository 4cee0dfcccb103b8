"""The served API against hostile clients: idle, slowloris and slow-body connections, broken
framing, and a shutdown with a live stream open. Each test runs the real server.

Answers are awaited with a deadline on the client socket (a probe that is not answered
in time raises), never by timing the server.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.constants import ROOT
from tests.support.polling import poll_until
from tests.support.servers import free_port, running_server, wait_until_healthy

OPSCORE = str(Path(sys.executable).parent / "opscore")
KEY = "slow-client-key"
SERVER_ENV = {"OPSCORE_API_KEYS": KEY, "OPSCORE_LOG_LEVEL": "WARNING"}
PROBE_DEADLINE = 0.1  # seconds: /health and an authenticated GET must answer within it


def exchange(port: int, raw: bytes, deadline: float = 5.0) -> bytes:
    """Send `raw` on a new connection; every byte the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=deadline) as client:
        client.sendall(raw)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        return answer


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def get(path: str, *, key: bool = False) -> bytes:
    auth = f"X-API-Key: {KEY}\r\n" if key else ""
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{auth}Connection: close\r\n\r\n".encode()


@pytest.fixture
def port(tmp_path) -> Iterator[int]:
    """A running server (in-memory store: one process, eight threads); its port."""
    port = free_port()
    with running_server([OPSCORE, "serve", "--port", str(port)], SERVER_ENV, port):
        yield port


def open_hostile_connections(port: int, stack: ExitStack) -> None:
    """200 silent connections, 50 sending headers slowly, 50 sending a body slowly."""

    def connect() -> socket.socket:
        return stack.enter_context(socket.create_connection(("127.0.0.1", port)))

    for _ in range(200):
        connect()
    for _ in range(50):
        connect().sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: 1\r\n")
    for _ in range(50):
        connect().sendall(
            b"POST /v1/agents HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {KEY}\r\nContent-Length: 1000\r\n\r\n{{".encode()
        )


def test_health_and_an_authenticated_get_answer_within_100ms_with_300_slow_clients_connected(
    port,
):
    # Warm both paths first, so the probes below time the server, not its first imports.
    assert exchange(port, get("/health")).startswith(b"HTTP/1.1 200")
    assert exchange(port, get("/v1/agents", key=True)).startswith(b"HTTP/1.1 200")
    with ExitStack() as stack:
        open_hostile_connections(port, stack)
        health = exchange(port, get("/health"), deadline=PROBE_DEADLINE)
        agents = exchange(port, get("/v1/agents", key=True), deadline=PROBE_DEADLINE)
    assert health.startswith(b"HTTP/1.1 200")
    assert agents.startswith(b"HTTP/1.1 200")


HEAD = f"POST /v1/agents HTTP/1.1\r\nHost: t\r\nX-API-Key: {KEY}\r\n".encode()


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            400,
            "malformed chunked body: invalid chunk size b'zz'",
        ),
        (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
            400,
            "malformed chunked body: chunk data not followed by CRLF",
        ),
        (
            HEAD + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            400,
            "Invalid HTTP Header: 'CONTENT-LENGTH'",
        ),
        (
            b"GET /health HTTP/1.1\r\nHost: t\r\nX-A: a\r\n folded\r\n\r\n",
            400,
            "Obsolete line folding is unacceptable: 'X-A'",
        ),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, None),
        (b"GET /health HTTP/1.1\r\nHost: t\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n", 431, None),
        (b"GARBAGE\r\n\r\n", 400, None),
        (b"GET /health HTTP/9.9\r\nHost: t\r\n\r\n", 400, None),
        (HEAD + b"Transfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n", 501, None),
    ],
    ids=[
        "bad-chunk-size",
        "chunk-without-crlf",
        "content-length-and-chunked",
        "obsolete-folding",
        "url-too-long",
        "header-too-long",
        "bad-request-line",
        "bad-version",
        "unsupported-transfer-coding",
    ],
)
def test_malformed_requests_are_answered_in_the_json_error_shape(port, raw, status, message):
    code, body = status_and_json(exchange(port, raw))
    assert (code, body["code"]) == (status, status)
    assert set(body) == {"code", "status", "message"}
    if message is not None:
        assert body["message"] == message


def test_a_gzip_transfer_coded_body_is_refused_unread_and_creates_nothing(port):
    coded = gzip.compress(b'{"name": "zipped"}')
    chunked = f"{len(coded):x}\r\n".encode() + coded + b"\r\n0\r\n\r\n"
    raw = HEAD + b"Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"

    code, body = status_and_json(exchange(port, raw + chunked))

    assert (code, body["message"]) == (422, "request body is not UTF-8")
    assert status_and_json(exchange(port, get("/v1/agents", key=True))) == (200, [])


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (b"GET /health HTTP/1.1\r\n", "request headers not received within 0.3 s"),
        (HEAD + b"Content-Length: 10\r\n\r\n{", "request body not received within 0.3 s"),
    ],
    ids=["headers", "body"],
)
def test_a_request_not_sent_within_its_deadline_is_answered_408_and_closed(sent, message):
    port = free_port()
    env = {**SERVER_ENV, "OPSCORE_HEADER_TIMEOUT": "0.3", "OPSCORE_BODY_TIMEOUT": "0.3"}
    with running_server([OPSCORE, "serve", "--port", str(port)], env, port):
        code, body = status_and_json(exchange(port, sent))
    assert code == 408
    assert body["message"].startswith(message)


def open_stream(port: int, stack: ExitStack) -> socket.socket:
    """A live event stream, read up to its first bytes."""
    client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
    client.sendall(get("/v1/events/stream", key=True).replace(b"Connection: close\r\n", b""))
    assert client.recv(65536).startswith(b"HTTP/1.1 200")
    return client


def first_bytes(port: int, raw: bytes) -> bytes:
    """The start of the answer to `raw` (a stream's answer never ends: read only its head)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(raw)
        return client.recv(4096)


def test_a_stream_whose_client_closed_frees_its_slot_within_the_advertised_retry_after():
    port = free_port()
    env = {**SERVER_ENV, "OPSCORE_MAX_STREAMS": "1"}
    with running_server([OPSCORE, "serve", "--port", str(port)], env, port), ExitStack() as stack:
        open_stream(port, stack).close()
        busy = first_bytes(port, get("/v1/events/stream", key=True))  # a 503, or a free slot
        retry_after = (
            int(busy.split(b"Retry-After: ")[1].split(b"\r\n")[0]) if b" 503 " in busy else 0
        )

        def slot_free() -> bool:
            with ExitStack() as probe:
                client = probe.enter_context(socket.create_connection(("127.0.0.1", port)))
                client.sendall(get("/v1/events/stream", key=True))
                return client.recv(64).startswith(b"HTTP/1.1 200")

        poll_until(slot_free, max(retry_after, 5), "the closed stream's slot to be free", every=0.1)


def test_ctrl_c_with_a_stream_open_stops_at_once_and_a_restart_binds_the_same_port(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        **SERVER_ENV,
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "OPSCORE_MIGRATE_ON_START": "true",
    }
    command = [OPSCORE, "serve", "--port", str(port)]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server)
        with ExitStack() as stack:
            open_stream(port, stack)
            os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends the whole process group
            # gunicorn's graceful timeout is 10 s; a stream holding a worker lasted that long.
            output, _ = server.communicate(timeout=5)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
    assert server.returncode == 0, output
    assert "SIGKILL" not in output
    with running_server(command, env, port) as url:
        assert url.endswith(str(port))
