"""`OpsCoreClient`: the REST API of one Ops-Core service, for agents and scripts."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from .resources import Agents, Machines, Runs, Sessions, Workflows
from .stream import EventStream, Reconnecting
from .tasks import Tasks
from .transport import RetryPolicy, Transport

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "OPSCORE_URL"
API_KEY_VARIABLE = "OPSCORE_API_KEY"


class OpsCoreClient:
    """A client of one Ops-Core service.

    `url` and `api_key` default to `$OPSCORE_URL` (else http://127.0.0.1:8000) and
    `$OPSCORE_API_KEY`. `timeout` bounds connecting and each read, in seconds. Failed
    requests are repeated up to `retries` times when that is safe, waiting `backoff`
    seconds and doubling (or what `Retry-After` asks), never more than `max_delay`.
    `sleep` and `clock` are replaceable so tests never wait.

    The methods are grouped as the API is: `agents`, `sessions`, `workflows`, `runs`,
    `tasks` and `machines`, plus `health()` and `events()`. Each call opens its own connection,
    so one client can be shared by threads.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        *,
        max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url = url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE)
        policy = RetryPolicy(retries=retries, backoff=backoff, max_delay=max_delay)
        self._transport = Transport(url, api_key, timeout, policy, sleep)
        self.agents = Agents(self._transport, clock)
        self.sessions = Sessions(self._transport, clock)
        self.workflows = Workflows(self._transport, clock)
        self.runs = Runs(self._transport, clock)
        self.machines = Machines(self._transport, clock)
        self.tasks = Tasks(self._transport, clock)

    @property
    def url(self) -> str:
        """The service's base URL."""
        return self._transport.url

    def __repr__(self) -> str:
        return f"OpsCoreClient({self.url!r})"  # never the key

    def health(self) -> dict[str, Any]:
        """`{status, version, store, machines}`; needs no API key."""
        return self._transport.request("GET", "/health").json()

    def events(
        self,
        *,
        agent_id: str | None = None,
        run_id: str | None = None,
        machine: str | None = None,
        kind: str | None = None,
        last_event_id: str | int | None = None,
        read_timeout: float = 60.0,
        keep_trying: bool = False,
        on_reconnect: Callable[[Reconnecting], None] | None = None,
    ) -> EventStream:
        """Follow the live event stream: `Transition`, `Gap` and `Dropped` events.

        Filters narrow it to one agent, run, machine or kind (agent, session, run, step).
        With `run_id` the stream starts at the run's first event and ends once the run
        has finished (at once, after its history, for a finished run). `last_event_id`
        resumes after an event seen earlier. The stream reconnects after a disconnect
        (resuming with `Last-Event-ID`, calling `on_reconnect` first) and otherwise ends
        only by raising (once the retries are spent; never with `keep_trying`) or by being
        closed; a connection silent for `read_timeout` seconds counts as lost.
        """
        filters = {"agent_id": agent_id, "run_id": run_id, "machine": machine, "kind": kind}
        resume = str(last_event_id) if last_event_id is not None else None
        return EventStream(
            self._transport,
            filters,
            resume,
            read_timeout,
            keep_trying=keep_trying,
            on_reconnect=on_reconnect,
        )
