"""Following the live event stream `GET /v1/events/stream`, reconnecting with `Last-Event-ID`.

The stream is Server-Sent Events: `transition` events carry one committed transition,
`gap` says events were lost beyond the server's retention window, `dropped` says the
server let go of a slow client (we reconnect and resume from the last id we saw), `end`
says a stream of one run has sent everything up to the run's end (the iterator stops).
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from .errors import ApiError, RateLimited, ServerError, TransportError, error_from_response
from .sse import ServerSentEvent, SseDecoder, SseProtocolError
from .transport import Transport, query_string

log = logging.getLogger(__name__)

STREAM_PATH = "/v1/events/stream"
EVENT_STREAM = "text/event-stream"
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class Transition:
    """One committed transition of an agent, session, run or run step."""

    gid: int
    kind: str
    instance_id: str
    machine: str
    version: int | None
    seq: int
    event: str
    source: str
    dest: str
    at: str
    agent_id: str | None = None
    run_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, payload: Mapping[str, Any], gid: int | None = None) -> Transition:
        """From the event's data; fields the server adds later are ignored."""
        return cls(
            gid=int(payload.get("gid", gid if gid is not None else 0)),
            kind=str(payload.get("kind", "")),
            instance_id=str(payload.get("instance_id", "")),
            machine=str(payload.get("machine", "")),
            version=payload.get("version"),
            seq=int(payload.get("seq", 0)),
            event=str(payload.get("event", "")),
            source=str(payload.get("source", "")),
            dest=str(payload.get("dest", "")),
            at=str(payload.get("at", "")),
            agent_id=payload.get("agent_id"),
            run_id=payload.get("run_id"),
            data=dict(payload.get("data") or {}),
        )


@dataclass(frozen=True)
class Gap:
    """Events after `requested` were lost: the oldest the server still had was `oldest`."""

    requested: int | None
    oldest: int | None


@dataclass(frozen=True)
class Dropped:
    """The server dropped this (slow) client; the stream reconnects by itself."""

    reason: str


StreamEvent = Transition | Gap | Dropped


@dataclass(frozen=True)
class Reconnecting:
    """The stream lost its connection (or was refused) and tries again after `delay` s."""

    delay: float
    reason: str
    last_event_id: str | None


def stream_event(sse: ServerSentEvent) -> StreamEvent | None:
    """The typed event for a decoded one; None for types this client does not know."""
    try:
        payload = json.loads(sse.data)
    except ValueError:
        log.warning("ignoring a %r event whose data is not JSON", sse.event)
        return None
    if not isinstance(payload, dict):
        log.warning("ignoring a %r event whose data is not a JSON object", sse.event)
        return None
    gid = int(sse.id) if sse.id and sse.id.isdigit() else None
    try:
        if sse.event == "transition":
            return Transition.from_json(payload, gid)
    except (TypeError, ValueError) as error:
        log.warning("ignoring a transition event with bad fields: %s", error)
        return None
    if sse.event == "gap":
        return Gap(payload.get("requested"), payload.get("oldest"))
    if sse.event == "dropped":
        return Dropped(str(payload.get("reason", "")))
    return None


class EventStream(Iterator[StreamEvent]):
    """The live event stream as an iterator that reconnects after disconnects.

    Each reconnection sends `Last-Event-ID` (also readable as `last_event_id`, to resume
    in a later process), after calling `on_reconnect` with a `Reconnecting` if given.
    Consecutive connections that deliver nothing count against the retry policy; once it
    is spent, the last error is raised, unless `keep_trying` (then it waits at most the
    policy's longest delay between tries, for as long as it takes). A stream of one run
    stops after the run's end. Close it when done (or use it as a context manager): that
    closes the connection.
    """

    def __init__(
        self,
        transport: Transport,
        filters: Mapping[str, Any],
        last_event_id: str | None = None,
        read_timeout: float = 60.0,
        *,
        keep_trying: bool = False,
        on_reconnect: Callable[[Reconnecting], None] | None = None,
    ) -> None:
        self.last_event_id = last_event_id
        self._transport = transport
        self._target = STREAM_PATH + query_string(filters)
        self._read_timeout = read_timeout
        self._keep_trying = keep_trying
        self._on_reconnect = on_reconnect
        self._retry_ms: int | None = None
        self._progressed = False
        self._ended = False
        self._dropped = False
        self._events = self._follow()

    def __next__(self) -> StreamEvent:
        return next(self._events)

    def close(self) -> None:
        """Stop following and close the connection."""
        self._events.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _follow(self) -> Iterator[StreamEvent]:
        failures = 0
        while True:
            failure: ApiError | TransportError | None = None
            self._progressed = self._dropped = False
            try:
                yield from self._connection()
            except (TransportError, ServerError, RateLimited) as error:
                failure = error
            if self._ended:
                return
            failures = 0 if self._progressed else failures + 1
            if failures > self._transport.policy.retries and not self._keep_trying:
                raise failure or TransportError("the event stream keeps ending without data")
            delay = self._reconnect_delay(failures, failure)
            reason = str(failure) if failure else "the service ended the stream"
            log.info("event stream reconnecting in %.2f s after %s", delay, reason)
            if self._on_reconnect is not None and not self._dropped:  # `Dropped` said so
                self._on_reconnect(Reconnecting(delay, reason, self.last_event_id))
            self._transport.sleep(delay)

    def _reconnect_delay(self, failures: int, failure: ApiError | TransportError | None) -> float:
        asked = getattr(failure, "retry_after", None)
        if asked is None and self._retry_ms is not None:
            asked = self._retry_ms / 1000
        return self._transport.policy.delay(max(failures - 1, 0), asked)

    def _connection(self) -> Iterator[StreamEvent]:
        """The events of one connection, until it ends or the server drops us."""
        headers = {"Accept": EVENT_STREAM, "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        connection, response = self._transport.open(
            "GET",
            self._target,
            headers=self._transport.headers(headers),
            timeout=self._read_timeout,
        )
        try:
            _check(response)
            yield from self._events_of(response)
        except (OSError, http.client.HTTPException, SseProtocolError) as error:
            raise TransportError(f"event stream: {type(error).__name__}: {error}") from error
        finally:
            response.close()
            connection.close()

    def _events_of(self, response: http.client.HTTPResponse) -> Iterator[StreamEvent]:
        decoder = SseDecoder()
        while chunk := response.read1(READ_SIZE):
            self._progressed = True
            for sse in decoder.feed(chunk):
                if sse.id is not None:
                    self.last_event_id = sse.id
                if sse.event == "end":
                    self._ended = True
                    return
                event = stream_event(sse)
                if event is not None:
                    yield event
                if isinstance(event, Dropped):
                    self._dropped = True
                    return
            if decoder.last_event_id is not None:
                self.last_event_id = decoder.last_event_id
            self._retry_ms = decoder.retry if decoder.retry is not None else self._retry_ms


def _check(response: http.client.HTTPResponse) -> None:
    """Raise the API's error for an error answer, or when the answer is not an event stream."""
    if response.status >= 400:
        body = response.read()
        raise error_from_response(response.status, response.reason, response.headers, body)
    content_type = response.headers.get_content_type()
    if response.status != 200 or content_type != EVENT_STREAM:
        raise ApiError(
            response.status,
            response.reason or "Unexpected Response",
            f"{STREAM_PATH} answered {response.status} {content_type}, not an event stream",
            headers=response.headers,
        )
