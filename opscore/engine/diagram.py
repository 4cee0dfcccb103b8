"""Mermaid `stateDiagram-v2` drawings of definitions, drawn by transitions' GraphMachine.

Upstream's mermaid output (transitions 0.9.3) writes `Class` where Mermaid expects
`class`, writes the title as bare front matter (not YAML), and never marks final
states; the graph class below mends all three.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from transitions.extensions import GraphMachine
from transitions.extensions.diagrams_mermaid import Graph

from ..definitions import MachineDefinition
from ..names import diagram_id
from .flow_diagram import draw


class _MermaidGraph(Graph):
    """Upstream's mermaid graph with Mermaid-valid class statements and final states."""

    def _add_nodes(self, states: list[dict], container: list[str]) -> None:
        for state in states:
            name, sid = state["name"], diagram_id(state["name"])
            style = self.custom_styles["node"][name] or "default"
            container.append(f'state "{self._convert_state_attributes(state)}" as {sid}')
            container.append(f"class {sid} s_{style}")
            if state.get("final"):
                container.append(f"{sid} --> [*]")

    def _add_edges(self, transitions: list[dict], container: list[str]) -> None:
        drawn: list[str] = []
        super()._add_edges(transitions, drawn)
        for line in drawn:
            edge, labels = line.split(": ", 1)
            source, dest = edge.split(" --> ")
            container.append(f"{diagram_id(source)} --> {diagram_id(dest)}: {labels}")

    def get_graph(self, title: str | None = None, roi_state: Any = None) -> Any:
        graph = super().get_graph(title=title, roi_state=roi_state)
        lines = graph.source.split("\n")
        if lines[0] == "---" and lines[2] == "---":
            lines[1] = f"title: {json.dumps(lines[1])}"
        start = f"[*] --> {self.machine.initial}"
        lines = [
            f"[*] --> {diagram_id(self.machine.initial)}" if line.strip() == start else line
            for line in lines
        ]
        graph.source = "\n".join(lines)
        return graph


class _DiagramMachine(GraphMachine):
    """A GraphMachine that always draws with `_MermaidGraph`."""

    style_attributes: ClassVar[dict] = {
        **GraphMachine.style_attributes,
        "node": {
            **GraphMachine.style_attributes["node"],
            "active": {"color": "black", "fillcolor": "#ffd166", "peripheries": "2"},
            "previous": {"color": "black", "fillcolor": "#cde7ff", "peripheries": "1"},
            "failed": {"color": "white", "fillcolor": "#d62828", "peripheries": "2"},
        },
    }

    def _init_graphviz_engine(self, graph_engine: str) -> type:
        return _MermaidGraph


class _Throwaway:
    """The model a diagram is drawn for; it never fires an event."""


def mermaid(
    definition: MachineDefinition,
    current: str | None = None,
    visited: Iterable[str] = (),
    failed: str | None = None,
) -> str:
    """The definition as Mermaid text; `current`, `visited` states and `failed` are highlighted.

    A workflow is drawn from its template's flow (see `flow_diagram`)."""
    if definition.workflow is not None:
        styles = dict.fromkeys(visited, "previous")
        styles.update({k: v for k, v in ((current, "active"), (failed, "failed")) if k})
        return draw(definition.workflow, current, styles)
    model = _Throwaway()
    machine = _DiagramMachine(
        model=model,
        states=[{"name": s.name, "final": s.final} for s in definition.states],
        transitions=[
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{definition.name} v{definition.version}",
    )
    graph = machine.model_graphs[id(model)]
    graph.reset_styling()
    for state in visited:
        graph.set_node_style(state, "previous")
    if current:
        graph.set_node_style(current, "active")
    if failed:
        graph.set_node_style(failed, "failed")
    return graph.get_graph(title=machine.title).source
