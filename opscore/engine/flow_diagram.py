"""Mermaid `stateDiagram-v2` drawings of workflow templates: the template's own flow only.

A run's machine also has `fail`, `cancel` and `redrive_*` transitions from every step;
drawn, they hide the flow, so a workflow is drawn from its template instead: `next`
edges, catchers and choice rules, and each `parallel` or `map` step as a composite state
with its branches (side by side) or its item flow inside. transitions' GraphMachine draws
flat machines only, which is why this drawing is ours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..definitions.workflow.template import (
    CANCELLED,
    FAILED,
    SUCCEEDED,
    Flow,
    Step,
    StepKind,
    WorkflowTemplate,
)
from ..names import diagram_id

ITEM = "*"  # stands for every item of a map in the paths of its steps
CLASS_DEFS = (
    "  classDef s_default fill:white,color:black",
    "  classDef s_active color:black,fill:#ffd166",
    "  classDef s_previous color:black,fill:#cde7ff",
    "  classDef s_failed color:white,fill:#d62828",
)


def node_id(path: str) -> str:
    """The Mermaid id of the step at `path` (a map's items written `*`): ids allow no `/`."""
    return diagram_id(path.replace("/", "__").replace(ITEM, "item"))


class _Drawing:
    """The lines of one drawing, and the style of each state drawn."""

    def __init__(self, styles: Mapping[str, str], labels: Mapping[str, str]) -> None:
        self.styles = styles
        self.labels = labels
        self.lines: list[str] = []
        self.classes: list[str] = []
        self.ends: set[str] = set()

    def flow(self, flow: Flow, scope: str, indent: str) -> None:
        top = not scope
        self.lines.append(f"{indent}[*] --> {node_id(_join(scope, flow.start))}")
        for name, step in flow.steps.items():
            self.state(step, _join(scope, name), indent)
        for name, step in flow.steps.items():
            for target, label in _edges(step):
                self.edge(_join(scope, name), target, label, scope, indent, top)

    def state(self, step: Step, path: str, indent: str) -> None:
        sid = node_id(path)
        label = self.labels.get(sid, step.name)
        if step.kind == StepKind.PARALLEL:
            self.lines.append(f"{indent}state {sid} {{")
            for i, (key, branch) in enumerate(step.branches.items()):
                if i:
                    self.lines.append(f"{indent}  --")
                bid = node_id(_join(path, key))
                self.lines.append(f"{indent}  state {bid} {{")
                self.flow(branch, _join(path, key), indent + "    ")
                self.lines.append(f"{indent}  }}")
                self.lines.append(f"{indent}  {bid} : {self.labels.get(bid, key)}")
            self.lines.append(f"{indent}}}")
        elif step.kind == StepKind.MAP and step.body is not None:
            self.lines.append(f"{indent}state {sid} {{")
            self.flow(step.body, _join(path, ITEM), indent + "  ")
            self.lines.append(f"{indent}}}")
        else:
            self.lines.append(f"{indent}state {json.dumps(label)} as {sid}")
            self.classes.append(f"  class {sid} s_{self.styles.get(sid, 'default')}")
            return
        self.lines.append(f"{indent}{sid} : {label}")

    def edge(self, path: str, target: str, label: str, scope: str, indent: str, top: bool) -> None:
        if target in (SUCCEEDED, FAILED) and not top:
            dest = "[*]"
            label = label or ("" if target == SUCCEEDED else "failed")
        elif target in (SUCCEEDED, FAILED):
            dest = target
            self.ends.add(target)
        else:
            dest = node_id(_join(scope, target))
        self.lines.append(f"{indent}{node_id(path)} --> {dest}" + (f": {label}" if label else ""))


def draw(
    template: WorkflowTemplate,
    current: str | None = None,
    styles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The template as Mermaid text; `styles` maps node ids to active, previous or failed,
    `labels` gives states other text (a map step's counts), `current` is the run's state."""
    drawing = _Drawing(styles or {}, labels or {})
    drawing.flow(template.flow, "", "  ")
    ends = [e for e in (SUCCEEDED, FAILED, CANCELLED) if e in drawing.ends or e == current]
    for end in ends:
        drawing.lines.append(f'  state "{end}" as {end}')
        drawing.classes.append(f"  class {end} s_{(styles or {}).get(end, 'default')}")
        if end != FAILED:
            drawing.lines.append(f"  {end} --> [*]")
    title = f"{template.name} v{template.version}"
    header = ["---", f"title: {json.dumps(title)}", "---", "stateDiagram-v2", "  direction LR"]
    return "\n".join([*header, *CLASS_DEFS, *drawing.lines, *drawing.classes])


def _edges(step: Step) -> list[tuple[str, str]]:
    """(target, label) of every edge the template draws out of `step`."""
    edges = [(rule["next"], f"when {i + 1}") for i, rule in enumerate(step.choice)]
    if step.default:
        edges.append((step.default, "default"))
    if step.next:
        edges.append((step.next, ""))
    edges += [(c.next, "catch " + ", ".join(c.errors)) for c in step.catch]
    return edges


def _join(scope: str, name: str) -> str:
    return f"{scope}/{name}" if scope else name
