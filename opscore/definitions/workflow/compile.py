"""`kind: workflow`: validate a template, check it, and compile it to a run machine.

A run's machine has one state per top-level step (a parallel or map step is one state,
its branches run inside it) plus `succeeded`, `failed` and `cancelled`. Its events:
`succeed` (a step other than a choice finished), `choose_<dest>` (a choice),
`catch_<dest>` (a catcher), `fail`, `cancel`, and `redrive_<step>` (out of `failed`).
"""

from __future__ import annotations

from marshmallow import ValidationError

from ..fields import DROP, flatten_errors, load_despite
from ..loader import build_machine, register_kind
from ..machine.checks import CallbackNames
from ..problems import Problem, errors_only, format_path
from ..yamlsafe import Document
from .checks import check_workflow
from .schema import WorkflowSchema
from .steps import child_calls, load_steps, too_many_steps
from .template import CANCELLED, FAILED, SUCCEEDED, build_template

WORKFLOW_STAND_INS = {"name": "unnamed", "version": 1, "description": DROP, "timeout": DROP}


def load_workflow(doc: Document, callbacks: CallbackNames, options: dict) -> tuple:
    """Validate a workflow document and build its definition (with its template)."""
    problems: list[Problem] = []
    try:
        data = WorkflowSchema().load(doc.data)
    except ValidationError as error:
        problems += [doc.problem(p, m) for p, m in flatten_errors(error.messages)]
        # With only fields no check reads wrong, the steps are still checked.
        data = load_despite(WorkflowSchema(), doc.data, error.messages, WORKFLOW_STAND_INS)
    steps = load_steps(doc, doc.data.get("steps"), ("steps",), problems)
    if data is None or steps is None:
        return None, problems
    too_many = too_many_steps(doc, steps)
    if too_many is not None:
        return None, [*problems, too_many]
    spec = {**data, "steps": steps}
    problems += check_workflow(doc, spec, options.get("task_types"))
    if errors_only(problems):
        return None, problems
    calls = {format_path(where): (name, doc.line_of(where)) for where, name in child_calls(steps)}
    template = build_template(spec, children=calls)
    return build_machine(run_machine(spec), doc, spec=spec, workflow=template), problems


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
        if step["kind"] != "choice":
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
