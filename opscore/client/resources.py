"""The client's typed methods, one class per kind of resource, as `OpsCoreClient` exposes them.

Every state-changing POST carries an `Idempotency-Key`: a fresh uuid4 per call unless
the caller gives one, the same on every retry of that call.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .results import Page, Resource
from .transport import Transport, path

DEFAULT_PAGE_SIZE = 50
JSON = "application/json"
RUN_FINISHED = ("succeeded", "failed", "cancelled")


class Endpoints:
    """Shared plumbing: GETs, pages and idempotent POSTs over one transport."""

    def __init__(
        self,
        transport: Transport,
        clock: Callable[[], float],
    ) -> None:
        self._transport = transport
        self._clock = clock

    def _get(self, target: str, query: Mapping[str, Any] | None = None) -> Resource:
        return Resource.from_response(self._transport.request("GET", target, query=query))

    def _text(self, target: str, query: Mapping[str, Any] | None = None) -> str:
        return self._transport.request("GET", target, query=query).text()

    def _page(
        self, target: str, query: Mapping[str, Any] | None, page: int, page_size: int
    ) -> Page:
        full = {**(query or {}), "page": page, "page_size": page_size}
        response = self._transport.request("GET", target, query=full)
        return Page.from_response(response, page, page_size)

    def _post(
        self,
        target: str,
        body: Any = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> Resource:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        response = self._transport.request(
            "POST",
            target,
            body=data,
            content_type=JSON if data is not None else None,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            headers={"If-Match": if_match} if if_match else None,
        )
        return Resource.from_response(response)

    def _upgrade(
        self,
        collection: str,
        instance_id: str,
        version: int,
        states: Mapping[str, str] | None,
        idempotency_key: str | None,
    ) -> Resource:
        """POST `/v1/<collection>/<id>/upgrade` with the version and the renamed names."""
        body = {"version": version, "states": dict(states or {})}
        return self._post(path("v1", collection, instance_id, "upgrade"), body, idempotency_key)


def iterate(list_page: Callable[..., Page], /, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list, page after page: `iterate(client.runs.list, state=...)`."""
    page: int | None = 1
    while page is not None:
        current = list_page(**arguments, page=page)
        yield from current.items
        page = current.next_page if current.items else None


def _without_none(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


class Agents(Endpoints):
    """`/v1/agents`: register agents, fire their events, read their history."""

    def register(
        self,
        agent_id: str | None = None,
        *,
        name: str | None = None,
        machine: str | None = None,
        capabilities: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Register an agent (an id is generated when `agent_id` is None); 409 if it is taken."""
        body = _without_none(
            id=agent_id,
            name=name,
            machine=machine,
            capabilities=list(capabilities),
            metadata=dict(metadata) if metadata is not None else None,
        )
        return self._post(path("v1", "agents"), body, idempotency_key)

    def get(self, agent_id: str) -> Resource:
        """The agent, with the events it may fire now; `.etag` is its current ETag."""
        return self._get(path("v1", "agents", agent_id))

    def list(
        self,
        *,
        state: str | None = None,
        machine: str | None = None,
        capability: str | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """One page of agents, filtered by state, machine or capability."""
        query = _without_none(state=state, machine=machine, capability=capability)
        return self._page(path("v1", "agents"), query, page, page_size)

    def iterate(self, *, page_size: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every agent matching the filters of `list`, fetching page after page."""
        return iterate(self.list, page_size=page_size, **filters)

    def delete(self, agent_id: str) -> None:
        """Deregister an agent, with its sessions and history."""
        self._transport.request("DELETE", path("v1", "agents", agent_id))

    def send_event(
        self,
        agent_id: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Fire an event; answers `{agent, transition}`. `if_match`: only if the ETag holds."""
        body = {"event": event, "data": dict(data or {})}
        return self._post(path("v1", "agents", agent_id, "events"), body, idempotency_key, if_match)

    def history(
        self,
        agent_id: str,
        *,
        since_seq: int = 0,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """The agent's transitions after `since_seq`, oldest first."""
        query = {"since_seq": since_seq}
        return self._page(path("v1", "agents", agent_id, "history"), query, page, page_size)

    def heartbeat(self, agent_id: str) -> Resource:
        """Tell the service the agent is alive: `{agent_id, last_seen, missed_at}`."""
        return self._post(path("v1", "agents", agent_id, "heartbeat"))

    def explain(self, agent_id: str) -> Resource:
        """Why the agent is where it is: tasks held and offered, its heartbeat."""
        return self._get(path("v1", "agents", agent_id, "explain"))

    def upgrade(
        self,
        agent_id: str,
        version: int,
        states: Mapping[str, str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Move the agent to a newer `version` of its machine, `states` mapping renamed
        states (old name -> new name); answers `{agent, transition}`."""
        return self._upgrade("agents", agent_id, version, states, idempotency_key)


class Sessions(Endpoints):
    """Agent sessions: open, drive and read them."""

    def open(
        self,
        agent_id: str,
        *,
        machine: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Open a session for an agent (409 when the agent has ended)."""
        body = _without_none(machine=machine, metadata=dict(metadata) if metadata else None)
        return self._post(path("v1", "agents", agent_id, "sessions"), body, idempotency_key)

    def get(self, session_id: str) -> Resource:
        """The session; `.etag` is its current ETag."""
        return self._get(path("v1", "sessions", session_id))

    def list(
        self,
        agent_id: str,
        *,
        state: str | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """One page of an agent's sessions, oldest first."""
        query = _without_none(state=state)
        return self._page(path("v1", "agents", agent_id, "sessions"), query, page, page_size)

    def send_event(
        self,
        session_id: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Fire an event on a session; answers `{session, transition}`."""
        body = {"event": event, "data": dict(data or {})}
        target = path("v1", "sessions", session_id, "events")
        return self._post(target, body, idempotency_key, if_match)

    def history(
        self,
        session_id: str,
        *,
        since_seq: int = 0,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """The session's transitions after `since_seq`, oldest first."""
        query = {"since_seq": since_seq}
        return self._page(path("v1", "sessions", session_id, "history"), query, page, page_size)


class Workflows(Endpoints):
    """Workflow templates."""

    def list(self, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE) -> Page:
        """One page of workflow templates (the latest version of each)."""
        return self._page(path("v1", "workflows"), None, page, page_size)

    def get(self, name: str, version: int | None = None) -> Resource:
        """A template: steps, start, input schema, agent binding."""
        return self._get(path("v1", "workflows", name), _without_none(version=version))

    def diagram(self, name: str, version: int | None = None) -> str:
        """The template's run machine as Mermaid `stateDiagram-v2` text."""
        return self._text(path("v1", "workflows", name, "diagram"), _without_none(version=version))


class Runs(Endpoints):
    """Workflow runs, and the steps agents pick up and report."""

    def start(
        self,
        workflow: str,
        input: Mapping[str, Any] | None = None,  # the API's field name
        *,
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Start a run of `workflow` with `input`, bound to `agent_id` if given (202)."""
        body = _without_none(input=dict(input or {}), agent_id=agent_id)
        return self._post(path("v1", "workflows", workflow, "runs"), body, idempotency_key)

    def get(self, run_id: str) -> Resource:
        """The run: state, current step, steps with attempts, input, output, error."""
        return self._get(path("v1", "runs", run_id))

    def list(
        self,
        *,
        workflow: str | None = None,
        state: str | None = None,
        agent_id: str | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """One page of runs, filtered by workflow, state or agent."""
        query = _without_none(workflow=workflow, state=state, agent_id=agent_id)
        return self._page(path("v1", "runs"), query, page, page_size)

    def iterate(self, *, page_size: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every run matching the filters of `list`, fetching page after page."""
        return iterate(self.list, page_size=page_size, **filters)

    def history(
        self,
        run_id: str,
        *,
        since_seq: int = 0,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """The run's transitions after `since_seq`, oldest first."""
        query = {"since_seq": since_seq}
        return self._page(path("v1", "runs", run_id, "history"), query, page, page_size)

    def diagram(self, run_id: str) -> str:
        """The run's workflow as Mermaid `stateDiagram-v2` text, its current state marked."""
        return self._text(path("v1", "runs", run_id, "diagram"))

    def explain(self, run_id: str) -> Resource:
        """Why the run is not progressing: what each active step waits on."""
        return self._get(path("v1", "runs", run_id, "explain"))

    def cancel(self, run_id: str, *, idempotency_key: str | None = None) -> Resource:
        """Cancel a run that has not finished; answers `{run, transition}` (409 otherwise)."""
        return self._post(path("v1", "runs", run_id, "cancel"), None, idempotency_key)

    def redrive(self, run_id: str, *, idempotency_key: str | None = None) -> Resource:
        """Restart a failed run at the step that failed; answers `{run, transition}`."""
        return self._post(path("v1", "runs", run_id, "redrive"), None, idempotency_key)

    def upgrade(
        self,
        run_id: str,
        version: int,
        states: Mapping[str, str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Move a run none of whose steps runs (or a failed one) to a newer `version` of its
        workflow, `states` mapping renamed top-level steps; answers `{run, transition}`."""
        return self._upgrade("runs", run_id, version, states, idempotency_key)

    def tasks_for_agent(
        self, agent_id: str, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Page:
        """The steps waiting for this agent's report: `{run_id, step, attempt, request, ...}`."""
        return self._page(path("v1", "agents", agent_id, "tasks"), None, page, page_size)

    def complete_step(
        self, run_id: str, step: str, output: Any = None, *, idempotency_key: str | None = None
    ) -> Resource:
        """Report a waiting step done with `output` (409 unless the step waits for it)."""
        target = path("v1", "runs", run_id, "steps", step, "complete")
        return self._post(target, {"output": output}, idempotency_key)

    def fail_step(
        self,
        run_id: str,
        step: str,
        error: str,
        message: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Report a waiting step failed with an error name its retriers and catchers match."""
        target = path("v1", "runs", run_id, "steps", step, "fail")
        return self._post(target, {"error": error, "message": message}, idempotency_key)

    def wait(self, run_id: str, *, timeout: float = 60.0, interval: float = 0.5) -> Resource:
        """Poll the run until it has finished; TimeoutError if it has not after `timeout` s."""
        deadline = self._clock() + timeout
        while True:
            run = self.get(run_id)
            if run["state"] in RUN_FINISHED:
                return run
            left = deadline - self._clock()
            if left <= 0:
                raise TimeoutError(f"run {run_id} is still {run['state']} after {timeout:g} s")
            self._transport.sleep(min(interval, left))


class Machines(Endpoints):
    """Machine definitions: read, draw, validate and reload them."""

    def list(
        self, *, kind: str | None = None, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Page:
        """One page of definitions (the latest version of each), optionally of one kind."""
        return self._page(path("v1", "machines"), _without_none(kind=kind), page, page_size)

    def get(self, name: str, version: int | None = None) -> Resource:
        """A definition's states, transitions, versions and content hash."""
        return self._get(path("v1", "machines", name), _without_none(version=version))

    def diagram(self, name: str, version: int | None = None, state: str | None = None) -> str:
        """The machine as Mermaid `stateDiagram-v2` text, `state` highlighted."""
        query = _without_none(version=version, state=state)
        return self._text(path("v1", "machines", name, "diagram"), query)

    def validate(
        self,
        definition: str | bytes,
        *,
        file: str | None = None,
        content_type: str = "application/yaml",
    ) -> Resource:
        """Check a definition without loading it: `{valid, problems, machine}`."""
        data = definition.encode() if isinstance(definition, str) else definition
        response = self._transport.request(
            "POST",
            path("v1", "machines", "validate"),
            query=_without_none(file=file),
            body=data,
            content_type=content_type,
            replay_safe=True,  # validating changes nothing
        )
        return Resource.from_response(response)

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of a definition: `{version, content_hash, retired, instances}`."""
        return self._transport.request("GET", path("v1", "machines", name, "versions")).json()

    def put(
        self, name: str, definition: str | bytes, *, content_type: str = "application/yaml"
    ) -> Resource:
        """Store a new version (admin); the same content again changes nothing."""
        data = definition.encode() if isinstance(definition, str) else definition
        response = self._transport.request(
            "PUT",
            path("v1", "machines", name),
            body=data,
            content_type=content_type,
            replay_safe=True,  # storing the same content again changes nothing
        )
        return Resource.from_response(response)

    def retire(self, name: str, version: int) -> Resource:
        """Retire a version (admin): no new instances of it; running ones go on."""
        return self._post(path("v1", "machines", name, "versions", str(version), "retire"))

    def reload(self) -> Resource:
        """Load new versions from the service's machines folder (admin): `{added, warnings}`."""
        return self._post(path("v1", "machines", "reload"))
