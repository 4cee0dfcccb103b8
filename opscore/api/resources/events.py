"""`/v1/events/stream`: every transition as it happens, as Server-Sent Events."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from marshmallow import EXCLUDE, Schema, fields, validate

from ...errors import StreamsBusy
from ...services.definitions import TERMINAL_STATES
from ...services.stream import StreamEnd, StreamFilter, StreamLimits, follow, run_start
from ...store import Store
from ..http import core
from ..schemas import StrictSchema, _name, instance_id
from ..smorest import Blueprint
from ._docs import errors

blp = Blueprint(
    "events",
    __name__,
    url_prefix="/v1/events",
    description="Live events: transitions of agents, sessions, runs and steps.",
)


class StreamQuerySchema(StrictSchema):
    """Filters of the live event stream."""

    agent_id = instance_id(metadata={"description": "Only this agent and its sessions and runs."})
    run_id = instance_id(metadata={"description": "Only this run and its steps."})
    machine = _name(metadata={"description": "Only instances of this machine or workflow."})
    kind = fields.String(validate=validate.OneOf(("agent", "session", "run", "step")))


class ResumeHeadersSchema(Schema):
    """Where a reconnecting client resumes."""

    class Meta:
        unknown = EXCLUDE

    last_event_id = fields.String(
        data_key="Last-Event-ID",
        validate=validate.Regexp(r"^[0-9]{1,18}$", error="must be an event id (digits)"),
        metadata={"description": "Resume after this event id (a reconnecting client sends it)."},
    )


def _run_end(store: Store, run_id: str) -> StreamEnd:
    """A run's stream ends when the run has (it raises RunNotFound for no such run)."""
    store.get("run", run_id)

    def state() -> str:
        return store.get("run", run_id).state

    return StreamEnd(
        finished=lambda: state() in TERMINAL_STATES,
        summary=lambda: {"run_id": run_id, "state": state()},
    )


def _released(stream: Iterator[str], slot: threading.BoundedSemaphore) -> Iterator[str]:
    try:
        yield from stream
    finally:
        slot.release()


def _client_gone(client: socket.socket | None) -> bool:
    """Whether the client closed its end of the connection (a peek that reads the end)."""
    if client is None:
        return False
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _stopped() -> Callable[[], bool]:
    """When this stream should end: its client went away, or the server is stopping."""
    stopping: threading.Event = current_app.extensions["opscore.stopping"]
    client = request.environ.get("gunicorn.socket")  # None under other servers and in tests
    return lambda: stopping.is_set() or _client_gone(client)


@blp.route("/stream")
class EventStream(MethodView):
    @blp.arguments(StreamQuerySchema, location="query")
    @blp.arguments(ResumeHeadersSchema, location="headers")
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/event-stream",
        description="`transition` events (id = gid), plus `gap` and `dropped`.",
    )
    @errors(blp, 404, 503)
    def get(self, query: dict, headers: dict) -> Any:
        """Follow every transition as it happens (Server-Sent Events)

        Each `transition` event's data is `{gid, kind, instance_id, agent_id, run_id, machine,
        version, seq, event, source, dest, at, data}`; `kind` is agent, session, run or step
        (a step attempt started, waits, sleeps or is retried). Resume with `Last-Event-ID`;
        a `gap` event says events were lost past the retention window, a `dropped` event that
        the client fell too far behind and should reconnect. With `run_id` the stream starts
        at the run's first event and ends with an `end` event (`{run_id, state,
        last_event_id}`) once the run has finished; 404 for no such run. 503 when this
        process already serves `OPSCORE_MAX_STREAMS` streams. A stream whose client closed
        frees its slot within a second, and every stream ends when the server stops.
        """
        last = int(headers["last_event_id"]) if headers.get("last_event_id") else None
        store = core().store
        run_id = query.get("run_id")
        end = _run_end(store, run_id) if run_id else None
        start = run_start(store, run_id) if run_id else None
        slot = current_app.extensions["opscore.streams"]
        if not slot.acquire(blocking=False):
            raise StreamsBusy(current_app.extensions["opscore.settings"].max_streams)
        limits = current_app.extensions.get("opscore.stream_limits", StreamLimits())
        stream = follow(
            store,
            StreamFilter(**query),
            last,
            limits,
            start_after=start,
            end=end,
            stopped=_stopped(),
        )
        return Response(
            _released(stream, slot),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
