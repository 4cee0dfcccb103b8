"""Loading a flow's steps, each on its own so every problem says where it is; the flows of
`parallel` branches and `map` bodies are loaded the same way, to a bounded depth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marshmallow import ValidationError

from ..fields import DROP, flatten_errors, load_despite
from ..problems import Problem
from ..yamlsafe import Document
from .schema import MAX_STEPS, STEP_KINDS, FlowSchema, InputSchema, StepSchema

MAX_DEPTH = 3  # parallel and map steps nested inside one another


def load_steps(
    doc: Document, raw: Any, where: tuple, problems: list[Problem], depth: int = 0
) -> dict[str, dict] | None:
    """The validated steps of one flow (None if any is invalid; `problems` says why)."""
    if not isinstance(raw, dict):
        return None
    steps, failed = {}, False
    for name, step in raw.items():
        loaded = _load_step(doc, step, (*where, name), problems, depth)
        if loaded is None:
            failed = True
        else:
            steps[name] = loaded
    return None if failed else steps


def _load_step(
    doc: Document, raw: Any, where: tuple, problems: list[Problem], depth: int
) -> dict | None:
    try:
        loaded = StepSchema().load(raw)
    except ValidationError as error:
        problems += [doc.problem((*where, *p), m) for p, m in flatten_errors(error.messages)]
        # A step wrong only in its description still takes part in the flow's checks; the
        # problems above keep the template from loading.
        loaded = load_despite(StepSchema(), raw, error.messages, {"description": DROP})
        if loaded is None:
            return None
    kind = next(k for k in STEP_KINDS if k in loaded)
    loaded = {**loaded, "kind": kind}
    if kind == "input":
        try:
            return {**loaded, "input": InputSchema().load(loaded["input"])}
        except ValidationError as error:
            problems += [
                doc.problem((*where, "input", *p), m) for p, m in flatten_errors(error.messages)
            ]
            return None
    if kind not in ("parallel", "map"):
        return loaded
    if depth >= MAX_DEPTH:
        problems.append(doc.problem(where, f"parallel and map steps nest at most {MAX_DEPTH} deep"))
        return None
    if kind == "map":
        body = loaded["map"]
        steps = load_steps(doc, body["steps"], (*where, "map", "steps"), problems, depth + 1)
        return None if steps is None else {**loaded, "map": {**body, "steps": steps}}
    branches = {}
    for key, branch in loaded["parallel"]["branches"].items():
        flow = _load_flow(doc, branch, (*where, "parallel", "branches", key), problems, depth)
        if flow is None:
            return None
        branches[key] = flow
    return {**loaded, "parallel": {"branches": branches}}


def _load_flow(
    doc: Document, raw: Any, where: tuple, problems: list[Problem], depth: int
) -> dict | None:
    try:
        flow = FlowSchema().load(raw)
    except ValidationError as error:
        problems += [doc.problem((*where, *p), m) for p, m in flatten_errors(error.messages)]
        return None
    steps = load_steps(doc, flow["steps"], (*where, "steps"), problems, depth + 1)
    return None if steps is None else {**flow, "steps": steps}


def inner_flows(step: dict, where: tuple) -> Iterator[tuple[tuple, dict, bool]]:
    """(where, flow, is_map_body) of each flow inside a loaded step."""
    if step["kind"] == "map":
        yield (*where, "map"), step["map"], True
    for key, branch in step.get("parallel", {}).get("branches", {}).items():
        yield (*where, "parallel", "branches", key), branch, False


def child_calls(steps: dict, where: tuple = ("steps",)) -> Iterator[tuple[tuple, str]]:
    """(document path of its `workflow` field, workflow name) of every child workflow step."""
    for name, step in steps.items():
        if step["kind"] == "workflow":
            yield (*where, name, "workflow"), step["workflow"]
        for inner_where, flow, _ in inner_flows(step, (*where, name)):
            yield from child_calls(flow["steps"], (*inner_where, "steps"))


def count_steps(steps: dict) -> int:
    """Steps in a flow, those of the flows inside its steps included."""
    return sum(
        1 + sum(count_steps(flow["steps"]) for _, flow, _ in inner_flows(step, ()))
        for step in steps.values()
    )


def too_many_steps(doc: Document, steps: dict) -> Problem | None:
    """The problem of a template whose steps, branches' and bodies' included, pass MAX_STEPS."""
    total = count_steps(steps)
    if total <= MAX_STEPS:
        return None
    return doc.problem(
        ("steps",),
        f"a workflow has at most {MAX_STEPS} steps, branches included; this one has {total}",
    )
