"""A local HTTP server standing in for an agent's push endpoint: it answers the statuses it
is given, in turn (the last one from then on), and keeps every request it received."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the endpoint received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        """Whether its X-OpsCore-Signature is HMAC-SHA256(secret, timestamp + "." + body)."""
        message = self.headers["X-OpsCore-Timestamp"].encode() + b"." + self.body
        expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-OpsCore-Signature"])


class PushEndpoint:
    """Answers `statuses` in turn; `received` holds each request."""

    def __init__(self, statuses: Sequence[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint._lock:
                    endpoint.received.append(Received(self.path, dict(self.headers), body))
                    turn = min(len(endpoint.received), len(endpoint.statuses)) - 1
                    status = endpoint.statuses[turn]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tasks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@contextmanager
def push_endpoint(*statuses: int) -> Iterator[PushEndpoint]:
    """A push endpoint answering `statuses` in turn, closed afterwards."""
    endpoint = PushEndpoint(statuses or (200,))
    try:
        yield endpoint
    finally:
        endpoint.close()
