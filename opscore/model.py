"""The plain records every layer shares: instances, transition records, idempotency records,
queries and pages. Imports nothing of Ops-Core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

EMPTY: Mapping[str, Any] = MappingProxyType({})

T = TypeVar("T")


class Instance:
    """One agent, session or run: its pinned machine, current state and attributes.

    `waiting_for` names the agents whose reports a run's steps wait for (none otherwise);
    the run service sets it with the context it commits, and stores index it.

    Treat it as immutable: a change makes a new Instance with `evolve`, so readers
    always see a consistent snapshot.
    """

    __slots__ = (
        "agent_id",
        "capabilities",
        "context",
        "created_at",
        "id",
        "kind",
        "machine",
        "metadata",
        "name",
        "revision",
        "seq",
        "state",
        "updated_at",
        "version",
        "waiting_for",
    )

    def __init__(
        self,
        *,
        id: str,
        kind: str,
        machine: str,
        version: int,
        state: str,
        created_at: float,
        updated_at: float | None = None,
        revision: int = 1,
        seq: int = 0,
        name: str | None = None,
        agent_id: str | None = None,
        capabilities: Sequence[str] = (),
        metadata: Mapping[str, Any] = EMPTY,
        context: Mapping[str, Any] = EMPTY,
        waiting_for: tuple[str, ...] = (),
    ) -> None:
        self.id = id
        self.kind = kind
        self.machine = machine
        self.version = version
        self.state = state
        self.revision = revision
        self.seq = seq
        self.created_at = created_at
        self.updated_at = created_at if updated_at is None else updated_at
        self.name = name
        self.agent_id = agent_id
        self.capabilities = tuple(capabilities)
        self.metadata = metadata
        self.context = context
        self.waiting_for = waiting_for

    def evolve(self, **changes: Any) -> Instance:
        """A copy with `changes` applied (written out: it is on every event's path)."""
        new = object.__new__(Instance)
        get = changes.get
        new.id = get("id", self.id)
        new.kind = get("kind", self.kind)
        new.machine = get("machine", self.machine)
        new.version = get("version", self.version)
        new.state = get("state", self.state)
        new.revision = get("revision", self.revision)
        new.seq = get("seq", self.seq)
        new.created_at = get("created_at", self.created_at)
        new.updated_at = get("updated_at", self.updated_at)
        new.name = get("name", self.name)
        new.agent_id = get("agent_id", self.agent_id)
        new.capabilities = get("capabilities", self.capabilities)
        new.metadata = get("metadata", self.metadata)
        new.context = get("context", self.context)
        new.waiting_for = get("waiting_for", self.waiting_for)
        return new

    def moved(
        self, state: str, seq: int, updated_at: float, context: Mapping[str, Any]
    ) -> Instance:
        """A copy after one transition: `evolve` of these, the revision one up (every
        event's path, so without the keyword dictionary)."""
        new = object.__new__(Instance)
        new.id = self.id
        new.kind = self.kind
        new.machine = self.machine
        new.version = self.version
        new.state = state
        new.revision = self.revision + 1
        new.seq = seq
        new.created_at = self.created_at
        new.updated_at = updated_at
        new.name = self.name
        new.agent_id = self.agent_id
        new.capabilities = self.capabilities
        new.metadata = self.metadata
        new.context = context
        new.waiting_for = self.waiting_for
        return new

    @property
    def etag(self) -> str:
        """A strong entity tag that changes with every committed change."""
        return f'"{self.revision}.{int(self.created_at * 1_000_000):x}"'

    def as_dict(self) -> dict[str, Any]:
        """Every attribute, for logs, tests and serializers."""
        return {slot: getattr(self, slot) for slot in Instance.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instance) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = f"{self.machine}@{self.version} {self.state} r{self.revision}"
        return f"<Instance {self.kind} {self.id} {where}>"


class TransitionRecord:
    """One committed transition; `seq` counts per instance, `gid` across the whole store.

    `agent_id` is the agent the instance is (for agents) or belongs to (sessions, runs).
    """

    __slots__ = (
        "agent_id",
        "at",
        "data",
        "dest",
        "event",
        "gid",
        "instance_id",
        "kind",
        "machine",
        "seq",
        "source",
        "version",
    )

    def __init__(
        self,
        *,
        instance_id: str,
        kind: str,
        machine: str,
        version: int,
        seq: int,
        event: str,
        source: str,
        dest: str,
        at: float,
        data: Mapping[str, Any] = EMPTY,
        gid: int = 0,
        agent_id: str | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.agent_id = agent_id
        self.kind = kind
        self.machine = machine
        self.version = version
        self.seq = seq
        self.event = event
        self.source = source
        self.dest = dest
        self.at = at
        self.data = data
        self.gid = gid

    def as_dict(self) -> dict[str, Any]:
        """Every attribute, for logs, tests and serializers."""
        return {slot: getattr(self, slot) for slot in TransitionRecord.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TransitionRecord) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Transition {self.instance_id}#{self.seq} {self.event}: {self.source}->{self.dest}>"
        )


@dataclass(frozen=True)
class Change:
    """One more instance written in the same commit as another: its new state, the revision
    it must still be at, and its transition record (a run's bound agent moving with it)."""

    instance: Instance
    expected_revision: int
    record: TransitionRecord


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first answer given to a request sent with an Idempotency-Key."""

    key: str
    fingerprint: str
    status: int
    body: Any
    created_at: float
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """Filters and paging for listing instances of one kind."""

    state: str | None = None
    machine: str | None = None
    capability: str | None = None
    agent_id: str | None = None
    waiting_for: str | None = None
    offset: int = 0
    limit: int = 50

    def matches(self, instance: Instance) -> bool:
        """Whether `instance` passes every filter that is set."""
        return (
            (self.state is None or instance.state == self.state)
            and (self.machine is None or instance.machine == self.machine)
            and (self.agent_id is None or instance.agent_id == self.agent_id)
            and (self.capability is None or self.capability in instance.capabilities)
            and (self.waiting_for is None or self.waiting_for in instance.waiting_for)
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the total number of items that matched."""

    items: list[T]
    total: int
