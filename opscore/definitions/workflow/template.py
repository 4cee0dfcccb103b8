"""A workflow template as immutable values, built from its validated definition.

A template is a flow (a start and named steps); a `parallel` step holds one flow per
branch and a `map` step one flow run per item, so flows nest. A step inside a branch is
named by its path: `fan_out/research/search`, `each_doc/3/summarize` (the item's index in
place of a branch name); a top-level step's path is its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

from .retry import Catcher, Retrier

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
TERMINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)
SEPARATOR = "/"
AGENT_TASKS = ("agent", "agent_event")  # task types that act on the run's agent by default
DEFAULT_AGENT_EVENTS = {"claim": "activate", "complete": "complete", "fail": "fail"}

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class StepKind(StrEnum):
    """What a step does."""

    TASK = "task"  # a worker runs a task type
    CHOICE = "choice"  # the first rule that holds picks `next`
    WAIT = "wait"  # the run pauses, holding no worker
    PARALLEL = "parallel"  # every branch runs at once; the step ends when all have
    MAP = "map"  # one flow per item of a list, at most `max_concurrency` at once
    WORKFLOW = "workflow"  # a child run of another template; the step ends with it
    INPUT = "input"  # a person or an outside system answers, the answer checked by a schema


COMPOSITE = frozenset({StepKind.PARALLEL, StepKind.MAP})
PATHS_KEPT = 4096  # step paths a template remembers the step of


@dataclass(frozen=True)
class Flow:
    """Steps and where they start: a template's own, a branch's, or a map item's."""

    start: str
    steps: Mapping[str, Step]

    def count_steps(self) -> int:
        """Its steps, those of the flows inside them included."""
        return sum(1 + sum(f.count_steps() for f in s.flows()) for s in self.steps.values())


@dataclass(frozen=True)
class Step:
    """One step: a task, a choice, a wait, a parallel, a map or a child workflow."""

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
    branches: Mapping[str, Flow] = field(default_factory=lambda: _EMPTY)  # parallel
    body: Flow | None = None  # map: the flow each item runs
    items: str | None = None  # map: the reference to the list
    max_concurrency: int | None = None  # map: items running at once (None: the limit)
    workflow: str | None = None  # workflow: the child template's name
    input: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # workflow: child input
    capability: str | None = None  # agent task: any agent with this capability may claim it
    lease: float | None = None  # agent task: a claim lasts this long unless renewed
    agent_events: Mapping[str, str | None] = field(default_factory=lambda: _EMPTY)
    answer_schema: Mapping[str, Any] | None = None  # input: what the answer must satisfy

    @property
    def targets(self) -> tuple[str, ...]:
        """Every state this step can lead to (besides failed and cancelled)."""
        rules = tuple(rule["next"] for rule in self.choice)
        catches = tuple(c.next for c in self.catch)
        chosen = (*rules, self.default) if self.kind == StepKind.CHOICE else ()
        return tuple(dict.fromkeys(t for t in (self.next, *chosen, *catches) if t))

    def flow_of(self, key: str) -> Flow:
        """The flow a branch (`key` is its name) or a map item (its index) runs."""
        if self.kind == StepKind.MAP and self.body is not None:
            return self.body
        return self.branches[key]

    def flows(self) -> tuple[Flow, ...]:
        """The flows inside this step: a parallel's branches, a map's body (else none)."""
        return (*self.branches.values(), *((self.body,) if self.body else ()))


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
    # The child workflows its steps start: document path -> (workflow name, line).
    children: Mapping[str, tuple[str, int]] = field(default_factory=lambda: _EMPTY)

    @property
    def start(self) -> str:
        """The first top-level step."""
        return self.flow.start

    @property
    def steps(self) -> Mapping[str, Step]:
        """The top-level steps."""
        return self.flow.steps

    def step(self, path: str) -> Step:
        """The step at `path` (`name`, `parallel_step/branch/name`, `map_step/3/name`, ...);
        KeyError otherwise. Found paths are remembered (a run looks its steps up on every
        commit), up to PATHS_KEPT of them."""
        found = self._paths.get(path)
        if found is None:
            found = self._find(path)
            if len(self._paths) < PATHS_KEPT:
                self._paths[path] = found
        return found

    @cached_property
    def _paths(self) -> dict[str, Step]:
        return {}

    def _find(self, path: str) -> Step:
        segments = path.split(SEPARATOR)
        flow = self.flow
        step = flow.steps[segments[0]]
        for key, name in zip(segments[1::2], segments[2::2], strict=True):
            flow = step.flow_of(key)
            step = flow.steps[name]
        return step


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
    kind = StepKind(spec["kind"])
    parallel = spec.get("parallel", {})
    mapped = spec.get("map")
    return Step(
        name=name,
        kind=kind,
        next=spec.get("next"),
        task=spec.get("task"),
        params=spec.get("params", {}),
        retry=tuple(_retrier(r) for r in spec.get("retry", ())),
        catch=tuple(Catcher(tuple(c["errors"]), c["next"]) for c in spec.get("catch", ())),
        choice=tuple(spec.get("choice", ())),
        default=spec.get("default"),
        wait=spec.get("wait"),
        description=spec.get("description", ""),
        branches=MappingProxyType({k: _flow(b) for k, b in parallel.get("branches", {}).items()}),
        body=_flow(mapped) if mapped else None,
        items=mapped["items"] if mapped else None,
        max_concurrency=mapped.get("max_concurrency") if mapped else None,
        workflow=spec.get("workflow"),
        input=spec.get("input", {}) if kind == StepKind.WORKFLOW else {},
        capability=spec.get("capability"),
        lease=spec.get("lease"),
        agent_events=MappingProxyType(dict(spec.get("agent_events") or DEFAULT_AGENT_EVENTS)),
        answer_schema=spec["input"].get("schema", {}) if kind == StepKind.INPUT else None,
        timeout=_timeout(spec, kind),
    )


def _timeout(spec: Mapping[str, Any], kind: StepKind) -> float | None:
    """A step's own timeout; an input step's is written inside its `input`."""
    if kind == StepKind.INPUT:
        return spec["input"].get("timeout")
    return spec.get("timeout")


def needs_agent(flow: Flow) -> bool:
    """Whether a step of `flow`, or of a flow inside it, falls back on the run's agent."""
    for step in flow.steps.values():
        if (
            step.kind == StepKind.TASK
            and step.task in AGENT_TASKS
            and "agent" not in step.params
            and step.capability is None
        ):
            return True
        if any(needs_agent(inner) for inner in step.flows()):
            return True
    return False


def build_template(
    spec: Mapping[str, Any], children: Mapping[str, tuple[str, int]] | None = None
) -> WorkflowTemplate:
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
        children=MappingProxyType(dict(children or {})),
    )
