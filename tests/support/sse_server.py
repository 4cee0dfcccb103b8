"""A tiny HTTP server that answers `GET /v1/events/stream` with canned replies, in order."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Control events the service sends on a stream, canned.
GAP = b'event: gap\ndata: {"requested": 2, "oldest": 10}\n\n'
DROPPED = b'event: dropped\ndata: {"reason": "slow client"}\n\n'


@dataclass
class Reply:
    """One canned answer: a status, and the body written chunk by chunk.

    With `hold`, the connection stays open (and silent) after the chunks until the server
    closes; otherwise it is closed after them.
    """

    chunks: list[bytes] = field(default_factory=list)
    status: int = 200
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False


@dataclass
class Request:
    """A request the server received."""

    path: str
    headers: dict[str, str]


def transition(gid: int, instance_id: str = "a1", event: str = "activate", **fields: Any) -> bytes:
    """A `transition` event as the server will send it."""
    data = {
        "gid": gid,
        "kind": "agent",
        "instance_id": instance_id,
        "agent_id": instance_id,
        "run_id": None,
        "machine": "agent",
        "version": 1,
        "seq": gid,
        "event": event,
        "source": "idle",
        "dest": "active",
        "at": "2026-11-24T12:00:01.000000Z",
        "data": {},
        **fields,
    }
    return f"id: {gid}\nevent: transition\ndata: {json.dumps(data)}\n\n".encode()


class CannedSseServer:
    """Serves its `replies` one per request; once they run out, every answer is a 503."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[Request] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(Request(self.path, dict(self.headers)))
                reply = server.replies.pop(0) if server.replies else Reply(status=503)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Cache-Control", "no-cache")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for chunk in reply.chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                if reply.hold:
                    server.release.wait(timeout=30)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Let held connections go and stop serving."""
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
