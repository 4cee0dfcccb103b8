"""What `$.` references read for one step of a run: its input, the steps it can see, the
run itself, the error a catcher caught, and inside a map item `$.item` and `$.index`.

A step sees the finished steps of its own flow and of the flows around it (a branch's
steps shadow the outer ones of the same name); never a step of a branch beside it.
"""

from __future__ import annotations

from typing import Any

from ..definitions.workflow.template import StepKind, WorkflowTemplate
from ..model import Instance
from .paths import SEPARATOR, join
from .state import RunState, StepRecord


def run_facts(run: Instance, template: WorkflowTemplate) -> dict[str, Any]:
    """What `$.run` shows: the run's id, its agent, its template's name and version."""
    return {
        "id": run.id,
        "agent_id": run.agent_id,
        "workflow": template.name,
        "version": template.version,
    }


def data_for(run: Instance, template: WorkflowTemplate, state: RunState, path: str) -> dict:
    """The data references of the step at `path` resolve against."""
    steps = _shown(state, "", template.flow.steps)
    error = state.error
    extra: dict[str, Any] = {}
    segments = path.split(SEPARATOR)
    flow_step = template.flow.steps[segments[0]]
    for depth in range(1, len(segments) - 1, 2):
        owner = SEPARATOR.join(segments[:depth])
        key = segments[depth]
        scope = join(owner, key)
        flow = flow_step.flow_of(key)
        steps.update(_shown(state, scope, flow.steps))
        branch = state.branches.get(scope)
        if branch is not None and branch.error is not None:
            error = branch.error
        if flow_step.kind == StepKind.MAP:
            items = state.steps[owner].items or ()
            extra = {"item": items[int(key)], "index": int(key)}
        flow_step = flow.steps[segments[depth + 1]]
    return {
        "input": state.input,
        "steps": steps,
        "run": run_facts(run, template),
        "error": error.to_json() if error else None,
        **extra,
    }


def _shown(state: RunState, scope: str, names: Any) -> dict[str, Any]:
    shown = {}
    for name in names:
        record = state.steps.get(join(scope, name))
        if record is not None:
            shown[name] = _facts(record)
    return shown


def _facts(record: StepRecord) -> dict[str, Any]:
    return {"output": record.output, "error": record.error.to_json() if record.error else None}
