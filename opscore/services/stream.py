"""Following the feed of every committed transition (and step note), as Server-Sent Events.

A stream starts at the newest event, or just after `Last-Event-ID`; a stream of one run
starts at that run's first kept event and ends, with an `end` event, once it has sent
everything up to the run's end. If the id it starts after is older than what the store
still keeps, the stream says so with a `gap` event first. A client that falls more than
`max_lag` events behind is dropped with a final `dropped` event: the stream reads the
store, so a slow reader never slows a writer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..model import TransitionRecord
from ..store import Store


@dataclass(frozen=True)
class StreamFilter:
    """Which events a stream wants; unset fields match everything."""

    agent_id: str | None = None
    run_id: str | None = None
    machine: str | None = None
    kind: str | None = None

    def matches(self, record: TransitionRecord) -> bool:
        """Whether `record` passes every filter that is set."""
        return (
            (self.kind is None or record.kind == self.kind)
            and (self.machine is None or record.machine == self.machine)
            and (self.agent_id is None or record.agent_id == self.agent_id)
            and (
                self.run_id is None
                or (record.kind in ("run", "step") and record.instance_id == self.run_id)
            )
        )


@dataclass(frozen=True)
class StreamLimits:
    """How a stream paces itself."""

    keepalive: float = 15.0
    max_lag: int = 5000
    retry_ms: int = 2000
    batch: int = 500
    check_every: float = 0.5  # seconds between looks at `stopped` while nothing happens


def event_json(record: TransitionRecord) -> dict[str, Any]:
    """The data of a `transition` event."""
    return {
        "gid": record.gid,
        "kind": record.kind,
        "instance_id": record.instance_id,
        "agent_id": record.agent_id,
        "run_id": record.instance_id if record.kind in ("run", "step") else None,
        "machine": record.machine,
        "version": record.version,
        "seq": record.seq,
        "event": record.event,
        "source": record.source,
        "dest": record.dest,
        "at": datetime.fromtimestamp(record.at, UTC).isoformat().replace("+00:00", "Z"),
        "data": dict(record.data),
    }


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One Server-Sent Event: optional id, type, one line of JSON data."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _dropped(cursor: int, limits: StreamLimits) -> str:
    reason = f"more than {limits.max_lag} events behind"
    return sse("dropped", {"reason": reason, "last_event_id": cursor})


@dataclass(frozen=True)
class StreamEnd:
    """When a stream of one instance ends: once caught up and `finished()` says so."""

    finished: Callable[[], bool]
    summary: Callable[[], dict[str, Any]]


def run_start(store: Store, run_id: str) -> int:
    """The event id just before the run's first kept transition (where its stream starts)."""
    first = store.history(run_id, 0, 0, 1).items
    return first[0].gid - 1 if first else store.feed_bounds()[1]


def _opening(store: Store, after: int | None) -> tuple[int, list[str]]:
    """Where a stream starts (after `after`, else at the newest event), and a `gap` if lost."""
    oldest, newest = store.feed_bounds()
    if after is None:
        return newest, []
    if oldest and after + 1 < oldest:
        return after, [sse("gap", {"requested": after + 1, "oldest": oldest})]
    return after, []


def follow(
    store: Store,
    wanted: StreamFilter,
    last_event_id: int | None,
    limits: StreamLimits = StreamLimits(),
    monotonic: Callable[[], float] = time.monotonic,
    *,
    start_after: int | None = None,
    end: StreamEnd | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """The stream's text, event after event, until the client goes away or falls behind.

    Without `last_event_id` it starts after `start_after` (default: the newest event).
    With `end`, it ends with an `end` event once it is caught up and `end.finished()`.
    `stopped` is asked every `limits.check_every` seconds at most: true when the client
    closed its end or the server is shutting down, so the stream ends then, not at the next
    write that fails.
    """
    cursor, opening = _opening(store, start_after if last_event_id is None else last_event_id)
    yield f"retry: {limits.retry_ms}\n\n"
    yield from opening
    quiet_since = monotonic()
    ending = False  # finished: one more read, for what committed just before the check
    while not stopped():
        batch = store.feed(cursor, limits.batch)
        for record in batch:
            cursor = record.gid
            if wanted.matches(record):
                yield sse("transition", event_json(record), record.gid)
        if batch:
            quiet_since = monotonic()
            if store.feed_bounds()[1] - cursor > limits.max_lag:
                yield _dropped(cursor, limits)
                return
            continue
        if ending:
            yield sse("end", {**end.summary(), "last_event_id": cursor})  # type: ignore[union-attr]
            return
        if end is not None and end.finished():
            ending = True
            continue
        if monotonic() - quiet_since >= limits.keepalive:
            yield ": keepalive\n\n"
            quiet_since = monotonic()
        store.wait_for_feed(cursor, min(limits.keepalive, limits.check_every))
