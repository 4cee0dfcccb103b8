"""Plain-dict representations of domain records: what the API answers (see schemas.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..model import Instance, TransitionRecord
from ..runs import (
    Attempt,
    Explanation,
    Outcome,
    RunState,
    RunStatus,
    StepRecord,
    StepStatus,
    Task,
    run_a2a_state,
)
from ..runs.paths import SEPARATOR
from ..runs.task_json import task_json, timestamp
from ..services.definitions import (
    TERMINAL_STATES,
    WorkflowTemplate,
    definition_json,
    problem_json,
    summary_json,
)
from ..store.liveness import Beat


def agent(
    instance: Instance, allowed_events: tuple[str, ...], beat: Beat | None = None
) -> dict[str, Any]:
    """An agent as the API shows it; `last_seen` is its latest heartbeat, if any."""
    return {
        "id": instance.id,
        "name": instance.name,
        "machine": {"name": instance.machine, "version": instance.version},
        "state": instance.state,
        "allowed_events": list(allowed_events),
        "capabilities": list(instance.capabilities),
        "metadata": dict(instance.metadata),
        "context": dict(instance.context),
        "created_at": timestamp(instance.created_at),
        "updated_at": timestamp(instance.updated_at),
        "revision": instance.revision,
        "last_seen": timestamp(beat.last_seen) if beat else None,
    }


def heartbeat(beat: Beat) -> dict[str, Any]:
    """An agent's latest heartbeat, and when its silence becomes a missed heartbeat."""
    return {
        "agent_id": beat.agent_id,
        "last_seen": timestamp(beat.last_seen),
        "missed_at": timestamp(beat.due) if beat.due is not None else None,
    }


def session(instance: Instance, allowed_events: tuple[str, ...]) -> dict[str, Any]:
    """A session as the API shows it."""
    return {
        "id": instance.id,
        "agent_id": instance.agent_id,
        "machine": {"name": instance.machine, "version": instance.version},
        "state": instance.state,
        "allowed_events": list(allowed_events),
        "metadata": dict(instance.metadata),
        "context": dict(instance.context),
        "created_at": timestamp(instance.created_at),
        "updated_at": timestamp(instance.updated_at),
        "revision": instance.revision,
    }


def transition(record: TransitionRecord) -> dict[str, Any]:
    """A transition record as the API shows it."""
    return {
        "seq": record.seq,
        "event": record.event,
        "source": record.source,
        "dest": record.dest,
        "at": timestamp(record.at),
        "data": dict(record.data),
    }


machine_summary = summary_json
machine = definition_json
problem = problem_json


def _attempt(attempt: Attempt) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "attempt": attempt.number,
        "started_at": timestamp(attempt.started_at),
        "outcome": str(attempt.outcome or StepStatus.RUNNING),
    }
    if attempt.ended_at is not None:
        shown["ended_at"] = timestamp(attempt.ended_at)
    if attempt.error is not None:
        shown["error"] = attempt.error.to_json()
    if attempt.outcome == Outcome.SUCCEEDED:
        shown["output"] = attempt.output
    if attempt.retry_in is not None:
        shown["retry_in"] = attempt.retry_in
    if attempt.worker:
        shown["worker"] = attempt.worker
    return shown


def _step(path: str, record: StepRecord, state: RunState) -> dict[str, Any]:
    shown = {
        "name": path,
        "status": str(record.status),
        "attempts": [_attempt(a) for a in record.attempts],
        "output": record.output,
        "error": record.error.to_json() if record.error else None,
    }
    if record.child is not None:
        shown["child_run_id"] = record.child
    branches = state.branches_of(path)
    if branches:
        counts = Counter(str(b.status) for b in branches.values())
        shown["branches"] = {"total": len(record.items) if record.items else len(branches)}
        shown["branches"].update(counts)
    return shown


def _steps(template: WorkflowTemplate, state: RunState) -> list[dict[str, Any]]:
    """Top-level steps in template order, each followed by the steps inside its branches."""
    inner = sorted((p for p in state.steps if SEPARATOR in p), key=_natural)
    shown = []
    for name in template.steps:
        if name in state.steps:
            shown.append(_step(name, state.steps[name], state))
            prefix = name + SEPARATOR
            shown += [_step(p, state.steps[p], state) for p in inner if p.startswith(prefix)]
    return shown


def _natural(path: str) -> list[tuple[int, int | str]]:
    """Sort key that puts map item 10 after item 9."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in path.split(SEPARATOR)]


def run(instance: Instance, template: WorkflowTemplate, state: RunState) -> dict[str, Any]:
    """A workflow run as the API shows it: state, current step, steps with their attempts."""
    pending = state.pending(instance.state)
    ended = instance.state in TERMINAL_STATES
    return {
        "id": instance.id,
        "workflow": {"name": instance.machine, "version": instance.version},
        "state": instance.state,
        "status": instance.state if ended else str(RunStatus.RUNNING),
        "a2a_state": str(run_a2a_state(instance, state)),
        "current_step": instance.state if pending else None,
        "pending": _pending(instance.state, pending) if pending else None,
        "agent_id": instance.agent_id,
        "input": dict(state.input),
        "output": state.output,
        "error": state.error.to_json() if state.error else None,
        "steps": _steps(template, state),
        "parent": state.parent.to_json() if state.parent else None,
        "created_at": timestamp(instance.created_at),
        "updated_at": timestamp(instance.updated_at),
        "revision": instance.revision,
    }


def _pending(path: str, record: StepRecord) -> dict[str, Any]:
    shown: dict[str, Any] = {"step": path, "attempt": record.attempt, "status": str(record.status)}
    if record.agent_id is not None:
        shown["agent_id"] = record.agent_id
    if record.due is not None:
        shown["due"] = timestamp(record.due)
    return shown


def agent_tasks(instance: Instance, state: RunState, agent_id: str) -> list[dict[str, Any]]:
    """The steps of a run waiting for `agent_id`'s report."""
    return [
        {
            "run_id": instance.id,
            "workflow": {"name": instance.machine, "version": instance.version},
            "step": path,
            "attempt": record.attempt,
            "agent_id": agent_id,
            "request": dict(record.request or {}),
            "waiting_since": timestamp(record.attempts[-1].started_at),
        }
        for path, record in state.steps.items()
        if record.status == StepStatus.WAITING and record.agent_id == agent_id
    ]


def workflow(definition: Any, versions: list[int]) -> dict[str, Any]:
    """A workflow template: its steps as written, start, input schema, binding, timeout."""
    spec = definition.spec
    return {
        **machine_summary(definition, versions),
        "start": spec["start"],
        "timeout": spec.get("timeout"),
        "input": spec.get("input"),
        "agent": spec.get("agent"),
        "steps": {name: dict(step) for name, step in spec["steps"].items()},
    }


def task(found: Task, token: str | None = None) -> dict[str, Any]:
    """A task as the API shows it; `token` only in the answer to its claim."""
    return task_json(found, token)


def explanation(found: Explanation) -> dict[str, Any]:
    """Why a run or an agent is where it is: what each part of it waits on."""
    return {
        "id": found.subject,
        "state": found.state,
        "a2a_state": str(found.a2a_state) if found.a2a_state else None,
        "reasons": [
            {
                "waits": str(reason.waits),
                "message": reason.message,
                "step": reason.step,
                "facts": _facts(reason.facts),
            }
            for reason in found.reasons
        ],
    }


_TIMES = frozenset({"due", "lease_until", "heartbeat_at", "last_seen"})


def _facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as JSON: times as timestamps."""
    return {
        key: timestamp(value) if key in _TIMES and isinstance(value, float) else value
        for key, value in facts.items()
    }
