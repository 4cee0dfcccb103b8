"""A run's data (kept in its instance `context`), changed only by these pure functions.

input    the validated input
steps    per step: status, attempts (capped), output, error, retries (per retrier)
pending  the step attempt in progress: step, attempt, status (queued, running,
         waiting, sleeping, retrying), due, agent_id, request, result
output   the run's output once it succeeded
error    {name, message, step} once it failed (also visible to catch targets)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definitions.workflow.template import SUCCEEDED, WorkflowTemplate
from ..store.work import WorkItem, WorkKind

MAX_ATTEMPTS_KEPT = 50
Context = dict[str, Any]


def initial(
    run_id: str, input_data: Mapping[str, Any], start: str, now: float = 0.0
) -> tuple[Context, WorkItem]:
    """The context of a new run and its first work (due `now`)."""
    context: Context = {"input": dict(input_data), "steps": {}}
    return enter(context, run_id, start, output=None, now=now)


def step_record(context: Mapping[str, Any], step: str) -> dict[str, Any]:
    """A copy of the step's record (empty for a step not yet entered)."""
    record = context["steps"].get(step, {})
    return {**record, "attempts": list(record.get("attempts", ()))}


def with_step(context: Mapping[str, Any], step: str, record: dict[str, Any]) -> Context:
    """The context with one step's record replaced."""
    return {**context, "steps": {**context["steps"], step: record}}


def enter(
    context: Mapping[str, Any], run_id: str, step: str, output: Any, now: float = 0.0
) -> tuple[Context, WorkItem | None]:
    """Move the run's attention to `step` (or finish it); returns the work that follows (due
    `now`, so the queue can tell how long it waited)."""
    if step == SUCCEEDED:
        return {**context, "pending": None, "output": output}, None
    record = step_record(context, step)
    attempt = len(record["attempts"]) + 1 + record.get("dropped", 0)
    record.update(status="queued", retries=[])
    context = with_step(context, step, record)
    pending = {"step": step, "attempt": attempt, "status": "queued"}
    return {**context, "pending": pending}, WorkItem(WorkKind.DISPATCH, run_id, step, attempt, now)


def start_attempt(
    context: Mapping[str, Any], now: float, worker: str | None = None, **pending: Any
) -> Context:
    """Record that the pending attempt started (on `worker`); `pending` updates its status."""
    current = context["pending"]
    record = step_record(context, current["step"])
    started = {"attempt": current["attempt"], "started_at": now}
    if worker:
        started["worker"] = worker
    record["attempts"].append(started)
    record["status"] = pending.get("status", "running")
    return _capped(
        {**with_step(context, current["step"], record), "pending": {**current, **pending}},
        current["step"],
    )


def finish_attempt(context: Mapping[str, Any], now: float, outcome: str, **details: Any) -> Context:
    """Record the end of the pending attempt: outcome, error, output, retry delay."""
    step = context["pending"]["step"]
    record = step_record(context, step)
    if record["attempts"]:
        record["attempts"][-1] = {
            **record["attempts"][-1],
            "ended_at": now,
            "outcome": outcome,
            **details,
        }
    record["status"] = outcome
    if outcome == "succeeded":
        record["output"] = details.get("output")
        record.pop("error", None)  # the step's last error; its attempts keep theirs
    if "error" in details:
        record["error"] = details["error"]
    return with_step(context, step, record)


def _capped(context: Context, step: str) -> Context:
    record = context["steps"][step]
    extra = len(record["attempts"]) - MAX_ATTEMPTS_KEPT
    if extra > 0:
        record = {
            **record,
            "attempts": record["attempts"][extra:],
            "dropped": record.get("dropped", 0) + extra,
        }
        context = with_step(context, step, record)
    return context


def view(
    run_id: str, agent_id: str | None, template: WorkflowTemplate, context: Mapping[str, Any]
) -> dict[str, Any]:
    """What `$.` references read: input, step outputs and errors, the run, its error."""
    steps = {
        name: {"output": record.get("output"), "error": record.get("error")}
        for name, record in context["steps"].items()
    }
    return {
        "input": context["input"],
        "steps": steps,
        "run": {
            "id": run_id,
            "agent_id": agent_id,
            "workflow": template.name,
            "version": template.version,
        },
        "error": context.get("error"),
    }
