"""Static checks of a shape-valid workflow template; every problem is reported at its place.

Every flow is checked the same way (the template's own, each parallel branch, each map
body): names, targets, error lists, references, task types and reachability. A flow
inside a step sees its own steps and those of the flows around it, never a step beside
it; `$.item` and `$.index` exist only inside a map.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from jsonschema import SchemaError, validators

from ..machine.checks import unreachable
from ..model import MachineDefinition
from ..problems import Problem, errors_only
from ..yamlsafe import Document
from .choice import condition_paths
from .refs import PathError, parse_path, references
from .retry import ALL
from .steps import inner_flows
from .template import FAILED, SUCCEEDED, TERMINAL_STATES


class TaskTypes(Protocol):
    """What the checks need to know of the task registry."""

    def has_task_type(self, name: str) -> bool: ...

    def required_params(self, name: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Flow:
    """One flow being checked: where it is in the document, its steps, what it sees."""

    where: tuple
    start: str
    steps: dict
    outer: frozenset[str] = frozenset()  # steps of the flows around it
    in_map: bool = False

    @property
    def is_branch(self) -> bool:
        """Whether this flow runs inside a parallel or map step."""
        return bool(self.where)

    def at(self, *path: object) -> tuple:
        """A document path inside this flow's steps."""
        return (*self.where, "steps", *path)


def check_workflow(doc: Document, spec: dict, task_types: TaskTypes | None) -> list[Problem]:
    """Every defect of a shape-valid workflow template."""
    problems: list[Problem] = []
    for flow in _flows(Flow((), spec["start"], spec["steps"])):
        problems += _check_flow(doc, flow, task_types, spec["name"])
    problems += _input_schema(doc, spec)
    return problems


def _flows(flow: Flow) -> Iterator[Flow]:
    """The flow and every flow inside its steps, depth first."""
    yield flow
    seen = flow.outer | frozenset(flow.steps)
    for name, step in flow.steps.items():
        for where, inner, is_map in inner_flows(step, (*flow.where, "steps", name)):
            yield from _flows(
                Flow(where, inner["start"], inner["steps"], seen, flow.in_map or is_map)
            )


def _check_flow(
    doc: Document, flow: Flow, task_types: TaskTypes | None, workflow: str
) -> list[Problem]:
    problems = list(_reserved_and_start(doc, flow))
    problems += _targets(doc, flow)
    problems += _error_lists(doc, flow)
    problems += _references(doc, flow)
    problems += _children(doc, flow, workflow)
    problems += _agent_tasks(doc, flow)
    if task_types is not None:
        problems += _task_types(doc, flow, task_types)
    if not errors_only(problems):
        edges = {name: set(_step_targets(step)) for name, step in flow.steps.items()}
        for name in unreachable(flow.start, edges, list(flow.steps)):
            message = f"unreachable step '{name}' (no path from '{flow.start}')"
            problems.append(doc.problem(flow.at(name), message))
    return problems


def _step_targets(step: dict) -> list[str]:
    targets = [step.get("next"), step.get("default")]
    targets += [rule["next"] for rule in step.get("choice", ())]
    targets += [catcher["next"] for catcher in step.get("catch", ())]
    return [t for t in targets if t]


def _reserved_and_start(doc: Document, flow: Flow) -> Iterator[Problem]:
    for name in flow.steps:
        if name in TERMINAL_STATES:
            yield doc.problem(
                flow.at(name), f"'{name}' is a reserved state; name the step otherwise"
            )
    if flow.start not in flow.steps:
        yield doc.problem((*flow.where, "start"), f"unknown step '{flow.start}'")


def _targets(doc: Document, flow: Flow) -> Iterator[Problem]:
    # Any step may end its flow: `next: failed` fails it as a choice or catcher can.
    to_steps = set(flow.steps) | {SUCCEEDED, FAILED}
    for name, step in flow.steps.items():
        places: list[tuple[tuple, str, set[str]]] = []
        if step.get("next"):
            places.append((("next",), step["next"], to_steps))
        if step.get("default"):
            places.append((("default",), step["default"], to_steps))
        places += [
            (("choice", i, "next"), r["next"], to_steps)
            for i, r in enumerate(step.get("choice", ()))
        ]
        places += [
            (("catch", i, "next"), c["next"], to_steps) for i, c in enumerate(step.get("catch", ()))
        ]
        for path, target, allowed in places:
            if target not in allowed:
                yield doc.problem(flow.at(name, *path), _unknown_target(flow, target))


def _unknown_target(flow: Flow, target: str) -> str:
    if target in flow.outer:
        return (
            f"'{target}' is outside this branch: a branch ends with `succeeded` or `failed`, "
            "and its step's own `next` goes on"
        )
    return f"unknown step '{target}'" + (" in this branch" if flow.is_branch else "")


def _error_lists(doc: Document, flow: Flow) -> Iterator[Problem]:
    for name, step in flow.steps.items():
        for field in ("retry", "catch"):
            rules = step.get(field, ())
            for i, rule in enumerate(rules):
                if ALL in rule["errors"] and (len(rule["errors"]) > 1 or i != len(rules) - 1):
                    yield doc.problem(
                        flow.at(name, field, i, "errors"),
                        f"{ALL} must stand alone, in the last {field} rule",
                    )


def _references(doc: Document, flow: Flow) -> Iterator[Problem]:
    visible = flow.outer | frozenset(flow.steps)
    for name, step in flow.steps.items():
        found = [
            (flow.at(name, "params", *where), ref)
            for where, ref in references(step.get("params", {}))
        ]
        found += [
            (flow.at(name, "input", *where), ref)
            for where, ref in references(step.get("input", {}))
        ]
        for i, rule in enumerate(step.get("choice", ())):
            found += [
                (flow.at(name, "choice", i, "when"), p) for p in condition_paths(rule["when"])
            ]
        if step["kind"] == "map":
            found.append((flow.at(name, "map", "items"), step["map"]["items"]))
        for path, ref in found:
            message = _reference_problem(ref, visible, flow)
            if message:
                yield doc.problem(path, message)


def _reference_problem(ref: str, steps: frozenset[str], flow: Flow) -> str | None:
    try:
        segments = parse_path(ref)
    except PathError as error:
        return str(error)
    if segments[0] == "steps" and (len(segments) < 2 or segments[1] not in steps):
        where = "this branch can see" if flow.is_branch else "of this workflow"
        return f"'{ref}' names no step {where}"
    if segments[0] in ("item", "index") and not flow.in_map:
        return f"'{ref}' exists only inside a map step's steps"
    return None


def _children(doc: Document, flow: Flow, workflow: str) -> Iterator[Problem]:
    for name, step in flow.steps.items():
        if step.get("workflow") == workflow:
            yield doc.problem(
                flow.at(name, "workflow"), f"workflow '{workflow}' cannot start itself as a child"
            )


def _agent_tasks(doc: Document, flow: Flow) -> Iterator[Problem]:
    """`capability`, `lease` and `agent_events` belong to `agent` tasks; an input step's
    schema must be a JSON Schema."""
    for name, step in flow.steps.items():
        given = [f for f in ("capability", "lease", "agent_events") if f in step]
        if given and step.get("task") != "agent":
            yield doc.problem(flow.at(name, given[0]), f"`{given[0]}` is for `task: agent` steps")
        elif "capability" in step and "agent" in step.get("params", {}):
            message = "a step goes to a named agent (`params.agent`) or to a capability, not both"
            yield doc.problem(flow.at(name, "capability"), message)
        if step["kind"] == "input":
            try:
                validators.validator_for(step["input"]["schema"]).check_schema(
                    step["input"]["schema"]
                )
            except SchemaError as error:
                path = flow.at(name, "input", "schema", *error.path)
                yield doc.problem(path, f"not a valid JSON Schema: {error.message}")


def _task_types(doc: Document, flow: Flow, task_types: TaskTypes) -> Iterator[Problem]:
    for name, step in flow.steps.items():
        task = step.get("task")
        if task is None:
            continue
        if not task_types.has_task_type(task):
            yield doc.problem(flow.at(name, "task"), f"unknown task type '{task}'")
            continue
        for param in task_types.required_params(task):
            if param not in step["params"]:
                yield doc.problem(
                    flow.at(name, "params"), f"task '{task}' needs the parameter '{param}'"
                )


def _input_schema(doc: Document, spec: dict) -> Iterator[Problem]:
    schema = spec.get("input")
    if schema is None:
        return
    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as error:
        path = ("input", *error.path)
        yield doc.problem(path, f"not a valid JSON Schema: {error.message}")


def child_workflow_problems(
    checked: Sequence[MachineDefinition], known: Sequence[MachineDefinition]
) -> list[Problem]:
    """Child workflows the `checked` definitions start that are not among the `known` ones,
    are not workflows, or start their parent again (directly or through others)."""
    problems = []
    kinds = {d.name: d.kind for d in known}
    graph = _call_graph(known)
    for definition in checked:
        template = definition.workflow
        for path, (child, line) in (template.children if template else {}).items():
            kind = kinds.get(child)
            message = None
            if kind is None:
                message = f"unknown workflow '{child}'"
            elif kind != "workflow":
                message = f"'{child}' is a machine of kind '{kind}', not a workflow"
            elif (loop := _loop(graph, child, definition.name)) is not None:
                message = f"workflow '{definition.name}' starts itself: {' -> '.join(loop)}"
            if message:
                problems.append(Problem(definition.source, line, path, message))
    return problems


def _call_graph(definitions: Sequence[MachineDefinition]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for definition in definitions:
        children = definition.workflow.children if definition.workflow else {}
        graph.setdefault(definition.name, set()).update(name for name, _ in children.values())
    return graph


def _loop(graph: dict[str, set[str]], start: str, target: str) -> list[str] | None:
    """A chain of calls from `target` through `start` back to `target`, if there is one."""
    trail, seen = [(start, [target, start])], {start}
    while trail:
        name, chain = trail.pop()
        if name == target:
            return chain
        for child in sorted(graph.get(name, ())):
            if child == target:
                return [*chain, child]
            if child not in seen:
                seen.add(child)
                trail.append((child, [*chain, child]))
    return None
