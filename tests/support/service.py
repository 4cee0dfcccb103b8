"""Fixtures (a pytest plugin): a real Ops-Core service on a loopback port, clients and the
CLI talking to it, a proxy in front of it that misbehaves, canned event-stream servers."""

from __future__ import annotations

import functools
import http.client
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from opscore.api import create_app
from opscore.cli import main, remote
from opscore.client import OpsCoreClient
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from opscore.logs import configure_logging
from opscore.store import MemoryStore
from opscore.tasks.builtin import builtin_tasks

from .constants import API_KEY, MACHINES, TEST_MACHINES
from .sse_server import CannedSseServer


@pytest.fixture
def counted_runs() -> list[tuple[str, str]]:
    """(run_id, step) for every time the `counted` task ran."""
    return []


@pytest.fixture
def service_tasks(counted_runs):
    """The built-in task types plus `counted`, which records each run of it."""
    registry = builtin_tasks()
    lock = threading.Lock()

    @registry.task("counted")
    def counted(ctx):
        with lock:
            counted_runs.append((ctx.run_id, ctx.step))
        return dict(ctx.params)

    return registry


@pytest.fixture
def service_core(callbacks, service_tasks) -> Iterator[OpsCore]:
    """An OpsCore over the shipped and test workflows, with two step workers running."""
    definitions = DefinitionRegistry()
    definitions.load([MACHINES, TEST_MACHINES / "workflows"], callbacks, task_types=service_tasks)
    core = OpsCore(definitions, MemoryStore(history_cap=200), callbacks, service_tasks)
    core.start(2)
    yield core
    core.stop()


def serve(app: Any) -> tuple[str, Any]:
    """Serve a WSGI app on a free loopback port from a thread; (base URL, server)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", (server, thread)


def stop(handle: Any) -> None:
    """Stop a server started by `serve`."""
    server, thread = handle
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def server_url(service_core) -> Iterator[str]:
    """The base URL of the real service, accepting the key API_KEY."""
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=service_core)
    # The service shares the process with the CLI under test: keep its logs out of stdout.
    configure_logging("WARNING", "text", stream=io.StringIO())
    url, handle = serve(app)
    yield url
    stop(handle)


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the clients under test asked to sleep (they never really sleep)."""
    return []


@pytest.fixture
def api(server_url, sleeps) -> OpsCoreClient:
    """A client of the real service that records its sleeps instead of sleeping."""
    return OpsCoreClient(server_url, API_KEY, sleep=sleeps.append)


# ---- a proxy in front of the service, failing on purpose -----------------------------


@dataclass
class Fault:
    """What the proxy does to the next request with this method.

    `action` is `answer` (a canned `status` with `headers`, the service never sees it),
    `drop_before` (close the connection without forwarding) or `drop_after` (forward,
    let the service commit, then close without answering).
    """

    method: str
    action: str
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """A request as the proxy received it."""

    method: str
    path: str
    headers: dict[str, str]


class ProxyHandler(BaseHTTPRequestHandler):
    """Applies the proxy's next fault for the request's method, or forwards it."""

    def do_GET(self) -> None:
        self.relay()

    def do_POST(self) -> None:
        self.relay()

    def do_DELETE(self) -> None:
        self.relay()

    def relay(self) -> None:
        proxy: FaultyProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = proxy.take(self.command, self.path, dict(self.headers))
        action = fault.action if fault else "forward"
        if fault and action == "answer":
            self.reply(fault.status, "", list(fault.headers.items()), b"")
        elif action != "drop_before":
            answer = proxy.forward(self.command, self.path, body, self.headers)
            if action != "drop_after":
                self.reply(*answer)
        # a dropped request gets no answer at all: the connection just closes

    def reply(self, status: int, reason: str, headers: list, data: bytes) -> None:
        self.send_response(status, reason or None)
        for name, value in headers:
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class FaultyProxy:
    """An HTTP proxy to the service that applies queued faults, in order, then forwards."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), ProxyHandler)
        self.httpd.proxy = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def take(self, method: str, path: str, headers: dict[str, str]) -> Fault | None:
        """Record a request; remove and return the first queued fault for its method."""
        with self._lock:
            self.seen.append(Seen(method, path, headers))
            for index, fault in enumerate(self.faults):
                if fault.method == method:
                    return self.faults.pop(index)
        return None

    def forward(self, method: str, path: str, body: bytes | None, headers: Any) -> tuple:
        """Send the request on to the service; its status, reason, headers and body."""
        connection = http.client.HTTPConnection(self.upstream, timeout=10)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()

    def posts(self) -> list[Seen]:
        """The POST requests the proxy received."""
        return [seen for seen in self.seen if seen.method == "POST"]

    def close(self) -> None:
        """Stop the proxy."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def proxy(server_url) -> Iterator[FaultyProxy]:
    """A proxy in front of the real service; queue `Fault`s on `proxy.faults`."""
    faulty = FaultyProxy(server_url)
    yield faulty
    faulty.close()


@pytest.fixture
def via_proxy(proxy, sleeps) -> OpsCoreClient:
    """A client that reaches the service through the faulty proxy."""
    return OpsCoreClient(proxy.url, API_KEY, sleep=sleeps.append)


@pytest.fixture
def sse_server():
    """Start canned event-stream servers: `sse_server([Reply(...), ...])`."""
    servers: list[CannedSseServer] = []

    def start(replies):
        servers.append(CannedSseServer(replies))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def cli(server_url, sleeps, monkeypatch):
    """Run `opscore ...` against the real service (found through the environment).

    The commands' clients record their sleeps instead of sleeping.
    """
    monkeypatch.setenv("OPSCORE_URL", server_url)
    monkeypatch.setenv("OPSCORE_API_KEY", API_KEY)
    recording = functools.partial(OpsCoreClient, sleep=sleeps.append)
    monkeypatch.setattr(remote, "OpsCoreClient", recording)

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), input=input)

    return invoke
