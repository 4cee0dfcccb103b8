"""Fire events on instances: compute the next state and its transition record, commit nothing."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..callbacks import CallbackRegistry
from ..definitions import DefinitionRegistry, MachineDefinition
from ..errors import EventNotAllowed, GuardRefused, UnknownEvent
from ..model import EMPTY, Instance, TransitionRecord
from .compiler import CompiledMachine

# `TransitionRecord(**fields)` goes through `type.__call__`, which packs the keywords into a
# dictionary for `__init__`; calling `__init__` on a bare object passes them as they are
# (0.6 against 0.27 us, on every event's path).
_bare_record = object.__new__
_init_record = TransitionRecord.__init__


class FireContext:
    """The light, transient model `transitions` moves, and what callbacks receive.

    It holds only the state string plus read-only facts about the event; `context`
    is copied on first access so an action's changes land only if the event commits.
    """

    __slots__ = ("_context", "data", "dest", "event", "instance", "source", "state")

    def __init__(self, instance: Instance, event: str, data: Mapping[str, Any]) -> None:
        self.state = instance.state
        self.source = instance.state
        self.dest = instance.state
        self.instance = instance
        self.event = event
        self.data = data
        self._context: dict[str, Any] | None = None

    @property
    def context(self) -> dict[str, Any]:
        """The instance's machine-owned variables, writable by actions."""
        if self._context is None:
            self._context = dict(self.instance.context)
        return self._context

    def changed_context(self) -> Mapping[str, Any]:
        """The context to commit: the instance's own unless an action touched it."""
        return self.instance.context if self._context is None else self._context


class Engine:
    """Compiles each definition version once and fires events on instances."""

    def __init__(self, definitions: DefinitionRegistry, callbacks: CallbackRegistry) -> None:
        self.definitions = definitions
        self.callbacks = callbacks
        self._compiled: dict[tuple[str, int], CompiledMachine] = {}
        self._lock = threading.Lock()

    def compiled(self, name: str, version: int) -> CompiledMachine:
        """The shared machine of definition `name` at `version`, compiled on first use."""
        try:
            return self._compiled[(name, version)]
        except KeyError:
            pass
        definition = self.definitions.get(name, version)
        with self._lock:
            if (name, version) not in self._compiled:
                self._compiled[(name, version)] = CompiledMachine(definition, self.callbacks)
            return self._compiled[(name, version)]

    def definition(self, instance: Instance) -> MachineDefinition:
        """The definition version `instance` is pinned to."""
        return self.compiled(instance.machine, instance.version).definition

    def is_final(self, instance: Instance) -> bool:
        """Whether the instance is in a final state of its machine."""
        compiled = self._compiled.get((instance.machine, instance.version))
        if compiled is None:
            compiled = self.compiled(instance.machine, instance.version)
        return instance.state in compiled.final_states

    def allowed_events(self, instance: Instance) -> tuple[str, ...]:
        """The events that may fire from the instance's current state (before conditions)."""
        return self.compiled(instance.machine, instance.version).allowed.get(instance.state, ())

    def fire(
        self,
        instance: Instance,
        event: str,
        data: Mapping[str, Any] = EMPTY,
        *,
        now: float,
    ) -> tuple[Instance, TransitionRecord]:
        """The instance after `event` at time `now` and its transition record; nothing is stored.

        Raises UnknownEvent, EventNotAllowed or GuardRefused (carrying the allowed
        events), or ActionFailed when a callback raised.
        """
        compiled = self._compiled.get((instance.machine, instance.version))
        if compiled is None:
            compiled = self.compiled(instance.machine, instance.version)
        state = instance.state
        allowed = compiled.allowed.get(state, ())
        if event not in allowed:
            if event in compiled.event_names:
                raise EventNotAllowed(event, state, allowed)
            raise UnknownEvent(event, state, allowed, instance.machine)
        ctx = FireContext(instance, event, data)
        if not compiled.events[event].trigger(ctx):
            raise GuardRefused(event, state, allowed, compiled.guards(event, state))
        seq = instance.seq + 1
        record = _bare_record(TransitionRecord)
        _init_record(
            record,
            instance_id=instance.id,
            kind=instance.kind,
            machine=instance.machine,
            version=instance.version,
            seq=seq,
            event=event,
            source=state,
            dest=ctx.state,
            at=now,
            data=data,
            agent_id=instance.id if instance.kind == "agent" else instance.agent_id,
        )
        return instance.moved(ctx.state, seq, now, ctx.changed_context()), record
