"""What a committed change of a run tells the metrics: retries, finished attempts, outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import metrics
from ..definitions.workflow.template import TERMINAL_STATES
from .lifecycle import Fired


def observe(fired: Fired) -> None:
    """Count the retries, attempt durations and run outcomes a run's change records."""
    run = fired.instance
    note = fired.note
    if note is not None and note.event == "retrying":
        metrics.step_retries.labels(run.machine, note.data["step"], note.data["error"]).inc()
    finished = _finished_attempt(fired.previous.context, run.context)
    if finished is not None:
        step, attempt = finished
        metrics.step_duration.labels(run.machine, step, attempt["outcome"]).observe(
            max(0.0, attempt["ended_at"] - attempt["started_at"])
        )
    if run.state != fired.previous.state and run.state in TERMINAL_STATES:
        metrics.runs_finished.labels(run.machine, run.state).inc()


def _finished_attempt(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[str, dict] | None:
    """The attempt that was in progress before the change and has ended by now, if any."""
    pending = before.get("pending")
    if not pending:
        return None
    ended = _attempt(after, pending)
    if ended is None or "ended_at" not in ended:
        return None
    earlier = _attempt(before, pending)
    return None if earlier is not None and "ended_at" in earlier else (pending["step"], ended)


def _attempt(context: Mapping[str, Any], pending: Mapping[str, Any]) -> dict | None:
    record = context["steps"].get(pending["step"], {})
    for attempt in reversed(record.get("attempts", ())):
        if attempt["attempt"] == pending["attempt"]:
            return attempt
    return None
