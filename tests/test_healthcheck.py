"""`python -m opscore.healthcheck`: the image's HEALTHCHECK, on the standard library alone."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opscore.config import Settings
from opscore.healthcheck import check, health_url
from tests.support.servers import free_port


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/health"),  # noqa: S104
        ("::", "http://[::1]:8000/health"),
        ("127.0.0.1", "http://127.0.0.1:8000/health"),
        ("10.1.2.3", "http://10.1.2.3:8000/health"),
        ("::1", "http://[::1]:8000/health"),
    ],
)
def test_health_url_reaches_a_wildcard_address_through_loopback(host, url):
    assert health_url(Settings(host=host, port=8000)) == url


@pytest.fixture
def health_server():
    """A local server answering /health with the body a test sets, until the test ends."""
    answer = {"status": 200, "body": b"{}"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(answer["status"])
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield answer, f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()
    thread.join()


def test_check_accepts_a_200_with_status_ok(health_server):
    answer, url = health_server
    answer["body"] = json.dumps({"status": "ok", "store": "sqlite"}).encode()
    assert check(url) is None


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, b'{"status": "degraded"}', "status 'degraded'"),
        (200, b"[]", "status None"),
        (200, b"not json", "Expecting value"),
        (503, b'{"status": "ok"}', "HTTP Error 503"),
    ],
)
def test_check_names_what_is_wrong_with_any_other_answer(health_server, status, body, problem):
    answer, url = health_server
    answer.update(status=status, body=body)
    assert problem in check(url)


def test_healthcheck_command_exits_1_naming_the_url_when_nothing_listens():
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "opscore.healthcheck"],
        env={"OPSCORE_HOST": "0.0.0.0", "OPSCORE_PORT": str(port)},  # noqa: S104
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/health: ")
