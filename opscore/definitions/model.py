"""Immutable values describing a validated machine definition."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class StateSpec:
    """One state of a machine."""

    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    final: bool = False
    on_enter: tuple[str, ...] = ()
    on_exit: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransitionSpec:
    """One transition; `sources` is already expanded (`"*"` means every non-final state)."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    description: str = ""

    @property
    def guarded(self) -> bool:
        """Whether a condition decides if this transition is taken."""
        return bool(self.conditions or self.unless)


@dataclass(frozen=True)
class HeartbeatSpec:
    """An agent on this machine silent for `every` seconds gets the `missed` event, once."""

    every: float
    missed: str


@dataclass(frozen=True)
class MachineDefinition:
    """A validated definition; (name, version) identifies it and `content_hash` fingerprints it."""

    kind: str
    name: str
    version: int
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    description: str = ""
    source: str = "<memory>"
    content_hash: str = ""
    # Lines of the top-level keys, for problems found after loading (version clashes).
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # Kind-specific parts (a workflow's steps) as read-only data, and, for a workflow,
    # the template built from them.
    spec: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    workflow: Any = None
    heartbeat: HeartbeatSpec | None = None

    @property
    def key(self) -> tuple[str, int]:
        """The (name, version) pair an instance pins."""
        return (self.name, self.version)

    @cached_property
    def state_names(self) -> tuple[str, ...]:
        """State names in definition order."""
        return tuple(s.name for s in self.states)

    @cached_property
    def final_states(self) -> frozenset[str]:
        """States an instance never leaves."""
        return frozenset(s.name for s in self.states if s.final)

    @cached_property
    def events(self) -> tuple[str, ...]:
        """Every trigger, in the order first defined."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    @cached_property
    def allowed_by_state(self) -> Mapping[str, tuple[str, ...]]:
        """For each state, the events that may fire from it (before conditions)."""
        allowed: dict[str, dict[str, None]] = {name: {} for name in self.state_names}
        for transition in self.transitions:
            for source in transition.sources:
                allowed[source][transition.trigger] = None
        return MappingProxyType({state: tuple(events) for state, events in allowed.items()})

    def allowed_events(self, state: str) -> tuple[str, ...]:
        """The events that may fire from `state`."""
        return self.allowed_by_state.get(state, ())

    def state(self, name: str) -> StateSpec:
        """The state called `name`."""
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)


def content_hash(data: Any) -> str:
    """A stable fingerprint of a definition's meaning: formatting and key order do not matter."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
