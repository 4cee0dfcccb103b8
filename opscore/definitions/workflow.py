"""`kind: workflow`: validate a template, check it, and compile it to a run machine.

A run's machine has one state per step plus `succeeded`, `failed` and `cancelled`. Its
events: `succeed` (a task or wait step finished), `choose_<dest>` (a choice),
`catch_<dest>` (a catcher), `fail`, `cancel`, and `redrive_<step>` (out of `failed`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from jsonschema import SchemaError, validators
from marshmallow import ValidationError

from ..workflows.choice import condition_paths
from ..workflows.paths import PathError, parse_path, references
from ..workflows.retry import ALL
from ..workflows.template import CANCELLED, FAILED, SUCCEEDED, TERMINAL_STATES, build_template
from .checks import CallbackNames, unreachable
from .loader import build_machine, register_kind
from .problems import Problem, errors_only
from .schemas import flatten_errors
from .workflow_schema import StepSchema, WorkflowSchema
from .yamlsafe import Document


class TaskTypes(Protocol):
    """What the checks need to know of the task registry."""

    def has_task_type(self, name: str) -> bool: ...

    def required_params(self, name: str) -> tuple[str, ...]: ...


def load_workflow(doc: Document, callbacks: CallbackNames, options: dict) -> tuple:
    """Validate a workflow document and build its definition (with its template)."""
    problems: list[Problem] = []
    try:
        data = WorkflowSchema().load(doc.data)
    except ValidationError as error:
        problems += [doc.problem(p, m) for p, m in flatten_errors(error.messages)]
        data = None
    steps = _load_steps(doc, problems)
    if data is None or steps is None:
        return None, problems
    spec = {**data, "steps": steps}
    problems += check_workflow(doc, spec, options.get("task_types"))
    if errors_only(problems):
        return None, problems
    return build_machine(run_machine(spec), doc, spec=spec, workflow=build_template(spec)), problems


def _load_steps(doc: Document, problems: list[Problem]) -> dict[str, dict] | None:
    raw = doc.data.get("steps")
    if not isinstance(raw, dict):
        return None
    steps, failed = {}, False
    for name, step in raw.items():
        try:
            loaded = StepSchema().load(step)
        except ValidationError as error:
            problems += [
                doc.problem(("steps", name, *p), m) for p, m in flatten_errors(error.messages)
            ]
            failed = True
            continue
        kind = next(k for k in ("task", "choice", "wait") if k in loaded)
        steps[name] = {**loaded, "kind": kind}
    return None if failed else steps


def check_workflow(doc: Document, spec: dict, task_types: TaskTypes | None) -> list[Problem]:
    """Every defect of a shape-valid workflow template."""
    steps = spec["steps"]
    problems = list(_reserved_and_start(doc, spec))
    problems += _targets(doc, steps)
    problems += _error_lists(doc, steps)
    problems += _references(doc, steps)
    if task_types is not None:
        problems += _task_types(doc, steps, task_types)
    problems += _input_schema(doc, spec)
    if not errors_only(problems):
        edges = {name: set(_step_targets(step)) for name, step in steps.items()}
        for name in unreachable(spec["start"], edges, list(steps)):
            problems.append(
                doc.problem(
                    ("steps", name), f"unreachable step '{name}' (no path from '{spec['start']}')"
                )
            )
    return problems


def _step_targets(step: dict) -> list[str]:
    targets = [step.get("next"), step.get("default")]
    targets += [rule["next"] for rule in step.get("choice", ())]
    targets += [catcher["next"] for catcher in step.get("catch", ())]
    return [t for t in targets if t]


def _reserved_and_start(doc: Document, spec: dict) -> Iterator[Problem]:
    for name in spec["steps"]:
        if name in TERMINAL_STATES:
            yield doc.problem(
                ("steps", name), f"'{name}' is a reserved state; name the step otherwise"
            )
    if spec["start"] not in spec["steps"]:
        yield doc.problem(("start",), f"unknown step '{spec['start']}'")


def _targets(doc: Document, steps: dict) -> Iterator[Problem]:
    to_steps = set(steps) | {SUCCEEDED}
    for name, step in steps.items():
        places: list[tuple[tuple, str, set[str]]] = []
        if step.get("next"):
            places.append((("next",), step["next"], to_steps))
        if step.get("default"):
            places.append((("default",), step["default"], to_steps | {FAILED}))
        places += [
            (("choice", i, "next"), r["next"], to_steps | {FAILED})
            for i, r in enumerate(step.get("choice", ()))
        ]
        places += [
            (("catch", i, "next"), c["next"], to_steps | {FAILED})
            for i, c in enumerate(step.get("catch", ()))
        ]
        for path, target, allowed in places:
            if target not in allowed:
                yield doc.problem(("steps", name, *path), f"unknown step '{target}'")


def _error_lists(doc: Document, steps: dict) -> Iterator[Problem]:
    for name, step in steps.items():
        for field in ("retry", "catch"):
            rules = step.get(field, ())
            for i, rule in enumerate(rules):
                if ALL in rule["errors"] and (len(rule["errors"]) > 1 or i != len(rules) - 1):
                    yield doc.problem(
                        ("steps", name, field, i, "errors"),
                        f"{ALL} must stand alone, in the last {field} rule",
                    )


def _references(doc: Document, steps: dict) -> Iterator[Problem]:
    for name, step in steps.items():
        found = [
            (("steps", name, "params", *where), ref)
            for where, ref in references(step.get("params", {}))
        ]
        for i, rule in enumerate(step.get("choice", ())):
            found += [
                (("steps", name, "choice", i, "when"), p) for p in condition_paths(rule["when"])
            ]
        for path, ref in found:
            message = _reference_problem(ref, steps)
            if message:
                yield doc.problem(path, message)


def _reference_problem(ref: str, steps: Mapping[str, Any]) -> str | None:
    try:
        segments = parse_path(ref)
    except PathError as error:
        return str(error)
    if segments[0] == "steps" and (len(segments) < 2 or segments[1] not in steps):
        return f"'{ref}' names no step of this workflow"
    return None


def _task_types(doc: Document, steps: dict, task_types: TaskTypes) -> Iterator[Problem]:
    for name, step in steps.items():
        task = step.get("task")
        if task is None:
            continue
        if not task_types.has_task_type(task):
            yield doc.problem(("steps", name, "task"), f"unknown task type '{task}'")
            continue
        for param in task_types.required_params(task):
            if param not in step["params"]:
                yield doc.problem(
                    ("steps", name, "params"), f"task '{task}' needs the parameter '{param}'"
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


def run_machine(spec: dict) -> dict:
    """The machine (as validated machine data) that runs of this template move through."""
    steps = spec["steps"]
    states = [
        _state(name, step.get("description", ""), [step["kind"]]) for name, step in steps.items()
    ]
    states += [
        _state(SUCCEEDED, "The run finished.", [], final=True),
        _state(FAILED, "The run failed; it can be redriven.", []),
        _state(CANCELLED, "The run was cancelled.", [], final=True),
    ]
    transitions = []
    for name, step in steps.items():
        if step["kind"] in ("task", "wait"):
            transitions.append(_transition("succeed", [name], step["next"]))
        for target in dict.fromkeys(
            [r["next"] for r in step.get("choice", ())] + [step.get("default")]
        ):
            if target:
                transitions.append(_transition(f"choose_{target}", [name], target))
        for target in dict.fromkeys(c["next"] for c in step.get("catch", ())):
            transitions.append(_transition(f"catch_{target}", [name], target))
    transitions.append(_transition("fail", list(steps), FAILED))
    transitions.append(_transition("cancel", list(steps), CANCELLED))
    transitions += [_transition(f"redrive_{name}", [FAILED], name) for name in steps]
    return {
        "kind": "workflow",
        "name": spec["name"],
        "version": spec["version"],
        "description": spec["description"],
        "initial": spec["start"],
        "states": states,
        "transitions": transitions,
    }


def _state(name: str, description: str, tags: list[str], final: bool = False) -> dict:
    return {
        "name": name,
        "description": description,
        "tags": tags,
        "final": final,
        "on_enter": [],
        "on_exit": [],
    }


def _transition(trigger: str, source: list[str], dest: str) -> dict:
    return {
        "trigger": trigger,
        "source": source,
        "dest": dest,
        "conditions": [],
        "unless": [],
        "before": [],
        "after": [],
        "description": "",
    }


register_kind("workflow", load_workflow)
