"""Task types: the named Python callables a workflow step can run.

A YAML step names a task type; the name resolves only through this registry (built-in
types, the `task` decorator, or the `opscore.tasks` entry-point group), never through an
import of a dotted path. A handler receives a `TaskContext` and returns the step's
output (JSON), raises `TaskError(name, message)` for an error the template's retriers
and catchers can match, or returns `Suspend` (wait for an agent), `Offer` (wait for any
agent with a capability) or `Sleep` (a delay).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from ..model import Instance, TransitionRecord
from ..names import NAME_MAX, NAME_PATTERN

TASK_NAME = re.compile(NAME_PATTERN)  # one name rule for everything a definition names
ERROR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
ERROR_NAME_MAX = 100


class TaskError(Exception):
    """A task failed with a named error (`Http.ServerError`) that retriers can match."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Suspend:
    """The step waits until an agent reports it complete or failed."""

    agent_id: str
    request: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Offer:
    """The step becomes a task any agent with `capability` may claim, then reports."""

    capability: str
    request: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    """The step finishes with `output` after `seconds`, without holding a worker."""

    seconds: float
    output: Any = None


class FiredEvent(Protocol):
    """An event fired on an agent: the agent after it, and the transition's record."""

    instance: Instance
    record: TransitionRecord | None


class AgentPort(Protocol):
    """What a task handler may do to agents."""

    def get(self, agent_id: str) -> Instance:
        """The agent (AgentNotFound otherwise)."""
        ...

    def fire_event(
        self, agent_id: str, event: str, data: Mapping[str, Any] | None = None
    ) -> FiredEvent:
        """Fire a lifecycle event on the agent (TransitionError when it is refused)."""
        ...


@dataclass
class TaskContext:
    """What a handler knows: its parameters (references resolved) and where it runs."""

    params: Mapping[str, Any]
    run_id: str
    step: str
    attempt: int
    input: Mapping[str, Any]
    agent_id: str | None
    time_left: float | None  # seconds until the step's timeout, as the handler starts
    agents: AgentPort | None = None
    capability: str | None = None  # an agent step's: hand it to any agent that has it


Handler = Callable[[TaskContext], Any]


@dataclass(frozen=True)
class TaskType:
    """A registered task type."""

    name: str
    handler: Handler
    required_params: tuple[str, ...] = ()


class TaskRegistry:
    """The task types workflow steps may name."""

    def __init__(self) -> None:
        self._types: dict[str, TaskType] = {}
        self._lock = threading.Lock()

    def task(self, name: str | None = None, *, requires: tuple[str, ...] = ()) -> Callable:
        """Decorator: register `fn` as task type `name` (default: the function's name)."""

        def register(fn: Handler) -> Handler:
            self.add(TaskType(name or fn.__name__, fn, tuple(requires)))
            return fn

        return register

    def add(self, task_type: TaskType) -> None:
        """Register a task type; a name can be registered once."""
        if len(task_type.name) > NAME_MAX or not TASK_NAME.match(task_type.name):
            raise ValueError(f"invalid task type name {task_type.name!r}")
        with self._lock:
            known = self._types.get(task_type.name)
            if known is not None and known.handler is not task_type.handler:
                raise ValueError(f"task type {task_type.name!r} is already registered")
            self._types[task_type.name] = task_type

    def get(self, name: str) -> TaskType:
        """The task type `name` (KeyError otherwise)."""
        return self._types[name]

    def has_task_type(self, name: str) -> bool:
        """Whether `name` is registered."""
        return name in self._types

    def required_params(self, name: str) -> tuple[str, ...]:
        """The parameters a step of this type must give."""
        return self._types[name].required_params

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._types)

    def load_entry_points(self) -> None:
        """Register the task types installed packages publish (`opscore.tasks`)."""
        for entry in entry_points(group="opscore.tasks"):
            self.add(TaskType(entry.name, entry.load()))
