"""The allow-list of conditions and actions that machine definitions may name.

A name in YAML resolves only through this registry; nothing is ever imported from a
dotted path. Register with the decorators or with the `opscore.conditions` and
`opscore.actions` entry-point groups. Every callback receives one `FireContext`
(see `opscore.engine.fire`): `event`, `source`, `dest`, `data` (the event's data),
`instance` (read-only) and `context` (the instance's machine-owned variables, which
actions may change).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

Callback = Callable[[Any], Any]

CALLBACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
DEFAULT_FAILURE_LIMIT = 3


class CallbackRegistry:
    """Named conditions and actions; the only callables a definition can reach."""

    def __init__(self) -> None:
        self._conditions: dict[str, Callback] = {}
        self._actions: dict[str, Callback] = {}
        self._lock = threading.Lock()

    def condition(self, name: str | None = None) -> Callable[[Callback], Callback]:
        """Decorator: register a condition (returns truthy to allow the transition)."""
        return lambda fn: self._register(self._conditions, name or fn.__name__, fn)

    def action(self, name: str | None = None) -> Callable[[Callback], Callback]:
        """Decorator: register an action run on enter/exit or before/after a transition."""
        return lambda fn: self._register(self._actions, name or fn.__name__, fn)

    def _register(self, table: dict[str, Callback], name: str, fn: Callback) -> Callback:
        if not CALLBACK_NAME.match(name):
            raise ValueError(f"invalid callback name {name!r}: letters, digits and _ only")
        if not callable(fn):
            raise TypeError(f"callback {name!r} is not callable")
        with self._lock:
            if name in table and table[name] is not fn:
                raise ValueError(f"callback {name!r} is already registered")
            table[name] = fn
        return fn

    def get_condition(self, name: str) -> Callback:
        """The condition registered as `name` (KeyError otherwise)."""
        return self._conditions[name]

    def get_action(self, name: str) -> Callback:
        """The action registered as `name` (KeyError otherwise)."""
        return self._actions[name]

    def has_condition(self, name: str) -> bool:
        """Whether a condition is registered as `name`."""
        return name in self._conditions

    def has_action(self, name: str) -> bool:
        """Whether an action is registered as `name`."""
        return name in self._actions

    def load_entry_points(self) -> None:
        """Register the callables installed packages publish as entry points."""
        for group, table in (
            ("opscore.conditions", self._conditions),
            ("opscore.actions", self._actions),
        ):
            for entry in entry_points(group=group):
                self._register(table, entry.name, entry.load())


def builtin_callbacks() -> CallbackRegistry:
    """A registry holding the conditions and actions that ship with Ops-Core."""
    registry = CallbackRegistry()

    @registry.condition()
    def has_reason(ctx: Any) -> bool:
        """The event's data carries a non-empty `reason` string."""
        reason = ctx.data.get("reason")
        return isinstance(reason, str) and bool(reason.strip())

    @registry.condition()
    def below_failure_limit(ctx: Any) -> bool:
        """Fewer failures than the agent's `max_failures` metadata (default 3)."""
        limit = ctx.instance.metadata.get("max_failures")
        if not isinstance(limit, int) or isinstance(limit, bool):
            limit = DEFAULT_FAILURE_LIMIT
        return ctx.context.get("failures", 0) < limit

    @registry.action()
    def record_error(ctx: Any) -> None:
        """Keep the event's `error` (or `reason`) as the instance's `last_error`."""
        ctx.context["last_error"] = ctx.data.get("error") or ctx.data.get("reason") or ctx.event

    @registry.action()
    def clear_error(ctx: Any) -> None:
        """Forget the instance's `last_error`."""
        ctx.context.pop("last_error", None)

    @registry.action()
    def count_failure(ctx: Any) -> None:
        """Add one to the instance's `failures` counter."""
        ctx.context["failures"] = ctx.context.get("failures", 0) + 1

    @registry.action()
    def reset_failures(ctx: Any) -> None:
        """Set the instance's `failures` counter back to zero."""
        ctx.context["failures"] = 0

    return registry


default_registry = builtin_callbacks()
"""The process-wide registry the application uses unless given another."""

condition = default_registry.condition
action = default_registry.action
