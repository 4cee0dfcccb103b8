"""Compile a definition version once into one shared `transitions.Machine`.

This module and `fire` are the only places that touch `transitions`. Every callback
handed to it is a Python callable looked up in the allow-listed registry, never a
string, so `transitions` never resolves or imports anything named in YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions import Machine

from ..callbacks import Callback, CallbackRegistry
from ..definitions import MachineDefinition
from ..errors import ActionFailed


class CompiledMachine:
    """A definition version and its one shared machine; instances stay plain data."""

    def __init__(self, definition: MachineDefinition, callbacks: CallbackRegistry) -> None:
        self.definition = definition
        self.final_states = definition.final_states
        self.allowed = definition.allowed_by_state
        self.event_names = frozenset(definition.events)
        self.machine = Machine(
            model=None,
            states=[_state_config(s, callbacks) for s in definition.states],
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
            name=f"{definition.name}@{definition.version}",
        )
        for t in definition.transitions:
            self.machine.add_transition(
                t.trigger,
                list(t.sources),
                t.dest,
                conditions=[_condition(n, callbacks.get_condition(n)) for n in t.conditions],
                unless=[_condition(n, callbacks.get_condition(n)) for n in t.unless],
                before=[_action(n, callbacks.get_action(n)) for n in t.before],
                after=[_action(n, callbacks.get_action(n)) for n in t.after],
            )
        self.events = self.machine.events

    def guards(self, event: str, state: str) -> list[str]:
        """The conditions that decide whether `event` may leave `state`."""
        return [
            guard
            for t in self.definition.transitions
            if t.trigger == event and state in t.sources
            for guard in (*t.conditions, *(f"not {name}" for name in t.unless))
        ]


def _state_config(state: Any, callbacks: CallbackRegistry) -> dict[str, Any]:
    return {
        "name": state.name,
        "final": state.final,
        "on_enter": [_action(n, callbacks.get_action(n)) for n in state.on_enter],
        "on_exit": [_action(n, callbacks.get_action(n)) for n in state.on_exit],
    }


def _condition(name: str, fn: Callback) -> Callable[[Any], bool]:
    """Adapt a registered condition to transitions' EventData calling convention."""

    def check(event_data: Any) -> bool:
        ctx = event_data.model
        ctx.dest = event_data.transition.dest
        try:
            return bool(fn(ctx))
        except Exception as error:
            raise ActionFailed(name, error) from error

    check.__name__ = name
    return check


def _action(name: str, fn: Callback) -> Callable[[Any], None]:
    """Adapt a registered action to transitions' EventData calling convention."""

    def run(event_data: Any) -> None:
        ctx = event_data.model
        ctx.dest = event_data.transition.dest
        try:
            fn(ctx)
        except Exception as error:
            raise ActionFailed(name, error) from error

    run.__name__ = name
    return run
