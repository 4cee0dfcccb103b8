"""A workflow template as immutable values, built from its validated definition.

A template is a flow: where it starts and its named steps. A step is named by its path;
a top-level step's path is its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .retry import Catcher, Retrier

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
TERMINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)
AGENT_TASKS = ("agent", "agent_event")  # task types that act on the run's agent by default

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class StepKind(StrEnum):
    """What a step does."""

    TASK = "task"  # a worker runs a task type
    CHOICE = "choice"  # the first rule that holds picks `next`
    WAIT = "wait"  # the run pauses, holding no worker


@dataclass(frozen=True)
class Flow:
    """Steps and where they start: a template's own, a branch's, or a map item's."""

    start: str
    steps: Mapping[str, Step]


@dataclass(frozen=True)
class Step:
    """One step: a task, a choice or a wait."""

    name: str
    kind: StepKind
    next: str | None = None
    task: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
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
        chosen = (*rules, self.default) if self.kind == StepKind.CHOICE else ()
        return tuple(dict.fromkeys(t for t in (self.next, *chosen, *catches) if t))


@dataclass(frozen=True)
class AgentBinding:
    """Agent events a run fires when it starts, succeeds, fails or is cancelled."""

    on_start: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    on_cancel: str | None = None

    @property
    def releases_on_cancel(self) -> str | None:
        """The event a cancelled run fires: `on_cancel`, else the one that ends it otherwise,
        so a cancelled run never leaves its agent in the state `on_start` put it in."""
        return self.on_cancel or self.on_success or self.on_failure


@dataclass(frozen=True)
class WorkflowTemplate:
    """A validated workflow: its flow, input schema, agent binding and limits."""

    name: str
    version: int
    flow: Flow
    input_schema: Mapping[str, Any] | None = None
    timeout: float | None = None
    agent: AgentBinding = AgentBinding()
    # Whether a run needs an agent: a binding, or an agent step that names none of its own.
    needs_agent: bool = False

    @property
    def start(self) -> str:
        """The first top-level step."""
        return self.flow.start

    @property
    def steps(self) -> Mapping[str, Step]:
        """The top-level steps."""
        return self.flow.steps

    def step(self, path: str) -> Step:
        """The step at `path`; KeyError otherwise."""
        return self.flow.steps[path]


def _retrier(data: Mapping[str, Any]) -> Retrier:
    return Retrier(
        errors=tuple(data["errors"]),
        interval=data["interval"],
        backoff_rate=data["backoff_rate"],
        max_attempts=data["max_attempts"],
        max_delay=data.get("max_delay"),
        jitter=data["jitter"],
    )


def _flow(spec: Mapping[str, Any]) -> Flow:
    return Flow(spec["start"], MappingProxyType({n: _step(n, s) for n, s in spec["steps"].items()}))


def _step(name: str, spec: Mapping[str, Any]) -> Step:
    return Step(
        name=name,
        kind=StepKind(spec["kind"]),
        next=spec.get("next"),
        task=spec.get("task"),
        params=spec.get("params", {}),
        timeout=spec.get("timeout"),
        retry=tuple(_retrier(r) for r in spec.get("retry", ())),
        catch=tuple(Catcher(tuple(c["errors"]), c["next"]) for c in spec.get("catch", ())),
        choice=tuple(spec.get("choice", ())),
        default=spec.get("default"),
        wait=spec.get("wait"),
        description=spec.get("description", ""),
    )


def needs_agent(flow: Flow) -> bool:
    """Whether a step of `flow` falls back on the run's agent (names none of its own)."""
    return any(
        step.kind == StepKind.TASK and step.task in AGENT_TASKS and "agent" not in step.params
        for step in flow.steps.values()
    )


def build_template(spec: Mapping[str, Any]) -> WorkflowTemplate:
    """The template described by a validated, normalized workflow spec."""
    flow = _flow(spec)
    binding = AgentBinding(**spec.get("agent", {}))
    return WorkflowTemplate(
        name=spec["name"],
        version=spec["version"],
        flow=flow,
        input_schema=spec.get("input"),
        timeout=spec.get("timeout"),
        agent=binding,
        needs_agent=binding != AgentBinding() or needs_agent(flow),
    )
