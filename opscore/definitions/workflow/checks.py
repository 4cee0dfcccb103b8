"""Static checks of a shape-valid workflow template; every problem is reported at its place."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from jsonschema import SchemaError, validators

from ..machine.checks import unreachable
from ..problems import Problem, errors_only
from ..yamlsafe import Document
from .choice import condition_paths
from .refs import PathError, parse_path, references
from .retry import ALL
from .template import FAILED, SUCCEEDED, TERMINAL_STATES


class TaskTypes(Protocol):
    """What the checks need to know of the task registry."""

    def has_task_type(self, name: str) -> bool: ...

    def required_params(self, name: str) -> tuple[str, ...]: ...


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
