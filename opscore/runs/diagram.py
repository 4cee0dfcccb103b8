"""A run drawn on the workflow version it is pinned to: where it is and where it has been,
and inside its parallel and map steps which branches or items are done, running or failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..definitions.workflow.template import WorkflowTemplate
from ..engine.flow_diagram import draw, node_id
from ..model import Instance, TransitionRecord
from .paths import SEPARATOR, pattern
from .state import BranchStatus, RunState, StepRecord, StepStatus

_RANK = {"default": 0, "previous": 1, "active": 2, "failed": 3}  # the style a map body shows


def run_path(
    run: Instance, state: RunState, history: Iterable[TransitionRecord]
) -> tuple[list[str], str | None]:
    """The states a run has been in, in order of first visit, and the step that failed.

    The history is capped, so the steps recorded in the run's state (every step it
    entered) complete what older, dropped records no longer show.
    """
    visited: dict[str, None] = {}
    for record in history:
        visited.update(dict.fromkeys((record.source, record.dest)))
    visited.update(dict.fromkeys(p for p in state.steps if SEPARATOR not in p))
    visited.pop(run.state, None)
    return list(visited), state.error.step if state.error else None


def draw_run(
    run: Instance, template: WorkflowTemplate, state: RunState, history: Iterable[TransitionRecord]
) -> str:
    """The run's workflow with its current state, the path so far, the failed step, and the
    state of every step inside its branches (a map's item flow shows its items' worst)."""
    visited, failed = run_path(run, state, history)
    styles = dict.fromkeys(visited, "previous")
    styles[run.state] = "active"
    if failed:
        styles[failed] = "failed"
    for path, record in state.steps.items():
        if SEPARATOR in path:
            sid = node_id(pattern(path))
            style = _style(record)
            if _RANK[style] > _RANK[styles.get(sid, "default")]:
                styles[sid] = style
    return draw(template, run.state, styles, _labels(template, state))


def _labels(template: WorkflowTemplate, state: RunState) -> dict[str, str]:
    """A parallel or map step's label says how many of its branches or items are where."""
    labels = {}
    for path, record in state.steps.items():
        branches = state.branches_of(path)
        if not branches:
            continue
        counts = Counter(b.status for b in branches.values())
        total = len(record.items) if record.items is not None else len(branches)
        parts = [f"{counts[BranchStatus.SUCCEEDED]}/{total} done"]
        parts += [
            f"{counts[s]} {s}" for s in (BranchStatus.RUNNING, BranchStatus.FAILED) if counts[s]
        ]
        name = path.rsplit(SEPARATOR, 1)[-1]
        labels[node_id(pattern(path))] = f"{name}: {', '.join(parts)}"
    return labels


def _style(record: StepRecord) -> str:
    if record.status == StepStatus.FAILED:
        return "failed"
    if record.active:
        return "active"
    return "previous" if record.status == StepStatus.SUCCEEDED else "default"
