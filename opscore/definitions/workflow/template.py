"""A workflow template as immutable values, built from its validated definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .retry import Catcher, Retrier

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
TERMINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)


@dataclass(frozen=True)
class Step:
    """One step: a `task`, a `choice` or a `wait`."""

    name: str
    kind: str
    next: str | None = None
    task: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    timeout: float | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    choice: tuple[Mapping[str, Any], ...] = ()
    default: str | None = None
    wait: float | None = None
    description: str = ""

    @property
    def targets(self) -> tuple[str, ...]:
        """Every state this step can lead to (besides failed and cancelled)."""
        rules = tuple(rule["next"] for rule in self.choice)
        catches = tuple(c.next for c in self.catch)
        chosen = (*rules, self.default) if self.kind == "choice" else ()
        return tuple(dict.fromkeys(t for t in (self.next, *chosen, *catches) if t))


@dataclass(frozen=True)
class AgentBinding:
    """Agent events a run fires when it starts, succeeds, fails or is cancelled."""

    on_start: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    on_cancel: str | None = None


@dataclass(frozen=True)
class WorkflowTemplate:
    """A validated workflow: where it starts, its steps, its input schema and limits."""

    name: str
    version: int
    start: str
    steps: Mapping[str, Step]
    input_schema: Mapping[str, Any] | None = None
    timeout: float | None = None
    agent: AgentBinding = AgentBinding()

    def step(self, name: str) -> Step:
        """The step called `name` (KeyError otherwise)."""
        return self.steps[name]


def _retrier(data: Mapping[str, Any]) -> Retrier:
    return Retrier(
        errors=tuple(data["errors"]),
        interval=data["interval"],
        backoff_rate=data["backoff_rate"],
        max_attempts=data["max_attempts"],
        max_delay=data.get("max_delay"),
        jitter=data["jitter"],
    )


def build_template(spec: Mapping[str, Any]) -> WorkflowTemplate:
    """The template described by a validated, normalized workflow spec."""
    steps = {
        name: Step(
            name=name,
            kind=step["kind"],
            next=step.get("next"),
            task=step.get("task"),
            params=step.get("params", {}),
            timeout=step.get("timeout"),
            retry=tuple(_retrier(r) for r in step.get("retry", ())),
            catch=tuple(Catcher(tuple(c["errors"]), c["next"]) for c in step.get("catch", ())),
            choice=tuple(step.get("choice", ())),
            default=step.get("default"),
            wait=step.get("wait"),
            description=step.get("description", ""),
        )
        for name, step in spec["steps"].items()
    }
    return WorkflowTemplate(
        name=spec["name"],
        version=spec["version"],
        start=spec["start"],
        steps=MappingProxyType(steps),
        input_schema=spec.get("input"),
        timeout=spec.get("timeout"),
        agent=AgentBinding(**spec.get("agent", {})),
    )
