"""What a committed change of a run tells the metrics: retries, finished attempts, outcomes."""

from __future__ import annotations

from collections.abc import Iterable

from .. import metrics
from ..definitions.workflow.template import TERMINAL_STATES
from ..services.lifecycle import Fired
from .paths import pattern
from .state import RunState, StepStatus


def observe(fired: Fired, before: RunState, after: RunState, changed: Iterable[str]) -> None:
    """Count the retries, attempt durations and run outcomes a run's change records
    (`changed`: the steps whose records it changed). A step inside a map is labelled by its
    path with `*` for the item, so a map of any length adds one series per step."""
    run = fired.instance
    for note in fired.notes:
        if note.event == StepStatus.RETRYING:
            step = pattern(note.data["step"])
            metrics.step_retries.labels(run.machine, step, note.data["error"]).inc()
    for path in changed:
        record = after.steps[path]
        earlier = before.steps.get(path)
        opened = earlier.open_attempt() if earlier is not None and earlier is not record else None
        ended = record.attempt_numbered(opened.number) if opened is not None else None
        if ended is not None and ended.ended_at is not None:
            metrics.step_duration.labels(run.machine, pattern(path), ended.outcome).observe(
                max(0.0, ended.ended_at - ended.started_at)
            )
    if run.state != fired.previous.state and run.state in TERMINAL_STATES:
        metrics.runs_finished.labels(run.machine, run.state).inc()
