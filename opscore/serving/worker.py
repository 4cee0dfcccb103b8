"""`BufferingWorker`: gunicorn's threaded worker, handing a connection to a thread only once
its request is whole.

gunicorn's gthread worker gives each new connection a thread that then waits for the
client's bytes, so a few dozen idle, slowloris or slow-body clients hold every thread and
the service stops answering. Here the worker's event loop reads each connection without
blocking until a whole request is held (`framing.RequestScanner`), within a header deadline
(OPSCORE_HEADER_TIMEOUT) and a body deadline (OPSCORE_BODY_TIMEOUT); a connection past
its deadline is answered 408 and closed. Only then does a thread run the request, from
the buffered bytes. Errors gunicorn's own parser answers (a bad request line, a header
too long, obsolete folding, ...) carry the API's JSON error shape, not an HTML page.

A stop signal (Ctrl-C, SIGTERM) that reaches a worker while it boots is acted on once it
has booted: before its own handlers it used to be lost (the worker ran on until the
master killed it at the end of its graceful timeout), and during its start it could
break a lock and fail the boot.

This relies on internals of gunicorn 27 (gthread's `TConn`, `enqueue_req`,
`finish_request`, `murder_pending`, `util.write_error`; the arbiter's `SIG_QUEUE`);
setup.cfg pins gunicorn to 27.x.
It serves HTTP/1.1 without TLS, as the service always has (TLS ends at a proxy in front).
"""

from __future__ import annotations

import contextlib
import json
import queue
import selectors
import signal
import time
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

from gunicorn import http, util
from gunicorn.workers.gthread import ThreadWorker

from ..config import Settings
from .framing import FramingLimits, RequestScanner, Verdict

READ_SIZE = 64 * 1024
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGQUIT, signal.SIGTERM})


def json_error(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 answer in the API's error shape `{code, status, message}`; it closes."""
    reason = HTTPStatus(status).phrase
    body = json.dumps({"code": status, "status": reason, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: Any, status: int, _reason: str, message: str) -> None:
    """gunicorn's `util.write_error`, answering in the API's JSON error shape instead of HTML."""
    util.write_nonblock(sock, json_error(status, message or HTTPStatus(status).phrase))


@dataclass
class Reading:
    """A connection whose request is still arriving, and when it must have arrived."""

    conn: Any  # gunicorn's TConn
    scanner: RequestScanner
    deadline: float
    in_body: bool = False


class BufferingWorker(ThreadWorker):
    """gthread, with each request read whole on the event loop before a thread runs it."""

    signals_before_handlers: queue.SimpleQueue | None = None

    def init_process(self) -> None:
        """Read the deadlines and limits, and answer parser errors as JSON, then start."""
        settings = Settings.from_env()
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.framing = FramingLimits(
            header_bytes=self.cfg.limit_request_line
            + self.cfg.limit_request_fields * self.cfg.limit_request_field_size,
            body_bytes=settings.max_body_bytes,
        )
        self.reading: dict[Any, Reading] = {}
        self.whole: set[Any] = set()  # connections whose request is held, bound for a thread
        util.write_error = write_json_error  # used by gunicorn's handle_error in this process
        super().init_process()

    def init_signals(self) -> None:
        """Install the worker's handlers; a stop signal waits until the worker has booted.

        From the fork until now this process ran the master's handler, which only puts the
        signal in this process's copy of the master's queue (`signals_before_handlers`, set
        by the `post_fork` hook): such a signal is raised again here. Until `run`, stop
        signals are blocked, held pending: a handler that raised SystemExit while step
        workers start would leave threading's locks broken and the worker failed to boot."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        super().init_signals()
        early = self.signals_before_handlers
        while early is not None and not early.empty():
            sig = early.get_nowait()
            if sig in STOP_SIGNALS:
                signal.raise_signal(sig)  # pending until `run` unblocks it

    def run(self) -> None:
        """Serve, once booted: a stop signal held pending since `init_signals` acts now."""
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        super().run()

    def handle_quit(self, sig: Any, frame: Any) -> None:
        """SIGINT or SIGQUIT: stop at once, from the event loop rather than in the handler.

        gthread's quit shuts the thread pool down, taking its lock. Run in the handler,
        wherever the main thread was, it waited forever for that lock when the main thread
        held it (handing a request to a thread) or when it interrupted itself (Ctrl-C sends
        SIGINT to every process, then the master sends each worker SIGQUIT)."""
        self.method_queue.defer(super().handle_quit, sig, frame)

    def handle_exit(self, sig: Any, frame: Any) -> None:
        """SIGTERM: stop, and end long answers (live streams) through the `worker_int` hook,
        which gunicorn calls on SIGINT and SIGQUIT only."""
        super().handle_exit(sig, frame)
        self.cfg.worker_int(self)

    def enqueue_req(self, conn: Any) -> None:
        """A thread for a connection whose request is whole; otherwise read it first."""
        if conn in self.whole:
            self.whole.discard(conn)
            super().enqueue_req(conn)
            return
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self._read(conn, leftover)

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection sent bytes: read its next request whole first."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read(conn, b"")

    def _read(self, conn: Any, data: bytes) -> None:
        scanner = RequestScanner(self.framing, data)
        reading = Reading(conn, scanner, time.monotonic() + self.header_timeout)
        if self._judge(reading):
            return
        conn.sock.setblocking(False)
        self.reading[conn] = reading
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, reading))

    def _on_bytes(self, reading: Reading, sock: Any) -> None:
        try:
            data = sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was whole
            self._forget(reading)
            self._close(reading.conn)
            return
        reading.scanner.feed(data)
        if self._judge(reading):
            self._forget(reading)

    def _judge(self, reading: Reading) -> bool:
        """Act on the scanner's verdict; whether the connection is done being read."""
        verdict = reading.scanner.verdict
        if verdict is Verdict.HEADERS:
            return False
        if verdict is Verdict.BODY:
            if not reading.in_body:
                reading.in_body = True
                reading.deadline = time.monotonic() + self.body_timeout
            return False
        if verdict is Verdict.MALFORMED:
            self._refuse(reading.conn, 400, reading.scanner.problem)
            return True
        self._hand_over(reading.conn, reading.scanner.take())
        return True

    def _hand_over(self, conn: Any, data: bytes) -> None:
        """Give the held bytes to the connection's parser and the connection to a thread."""
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.initialized = True  # HTTP/1.1 only: no TLS, no HTTP/2 prior knowledge
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        conn.sock.setblocking(True)
        self.whole.add(conn)
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        """Also close connections past their header or body deadline (all, when stopping)."""
        super().murder_pending()
        now = time.monotonic()
        for reading in list(self.reading.values()):
            if not self.alive:
                self._forget(reading)
                self._close(reading.conn)
            elif now > reading.deadline:
                part = "body" if reading.in_body else "headers"
                setting = "OPSCORE_BODY_TIMEOUT" if reading.in_body else "OPSCORE_HEADER_TIMEOUT"
                limit = self.body_timeout if reading.in_body else self.header_timeout
                self._forget(reading)
                self._refuse(
                    reading.conn, 408, f"request {part} not received within {limit:g} s ({setting})"
                )

    def _forget(self, reading: Reading) -> None:
        if self.reading.pop(reading.conn, None) is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(reading.conn.sock)

    def _refuse(self, conn: Any, status: int, message: str) -> None:
        with contextlib.suppress(OSError):
            util.write_nonblock(conn.sock, json_error(status, message))
        self._close(conn)

    def _close(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()
