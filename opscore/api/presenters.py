"""Plain-dict representations of domain records: what the API answers (see schemas.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..definitions.workflow.template import TERMINAL_STATES
from ..model import Instance, TransitionRecord


def timestamp(epoch: float) -> str:
    """An RFC 3339 UTC timestamp with microseconds."""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def agent(instance: Instance, allowed_events: tuple[str, ...]) -> dict[str, Any]:
    """An agent as the API shows it."""
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


def machine_summary(definition: Any, versions: list[int]) -> dict[str, Any]:
    """A definition's identity: name, kind, version, every loaded version, hash."""
    return {
        "name": definition.name,
        "kind": definition.kind,
        "version": definition.version,
        "versions": versions,
        "description": definition.description,
        "content_hash": definition.content_hash,
    }


def machine(definition: Any, versions: list[int]) -> dict[str, Any]:
    """A definition with its states and transitions."""
    return {
        **machine_summary(definition, versions),
        "initial": definition.initial,
        "states": [
            {
                "name": s.name,
                "description": s.description,
                "tags": list(s.tags),
                "final": s.final,
                "on_enter": list(s.on_enter),
                "on_exit": list(s.on_exit),
                "allowed_events": list(definition.allowed_events(s.name)),
            }
            for s in definition.states
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "sources": list(t.sources),
                "dest": t.dest,
                "conditions": list(t.conditions),
                "unless": list(t.unless),
                "before": list(t.before),
                "after": list(t.after),
                "description": t.description,
            }
            for t in definition.transitions
        ],
    }


def problem(item: Any) -> dict[str, Any]:
    """A definition problem, with its one-line `file:line: path: message` text."""
    return {
        "file": item.file,
        "line": item.line,
        "path": item.path,
        "message": item.message,
        "severity": item.severity,
        "text": str(item),
    }


def _attempt(record: dict[str, Any]) -> dict[str, Any]:
    attempt = {
        "attempt": record["attempt"],
        "started_at": timestamp(record["started_at"]),
        "outcome": record.get("outcome", "running"),
    }
    if "ended_at" in record:
        attempt["ended_at"] = timestamp(record["ended_at"])
    for key in ("error", "output", "retry_in", "worker"):
        if key in record:
            attempt[key] = record[key]
    return attempt


def run(instance: Instance, template: Any) -> dict[str, Any]:
    """A workflow run as the API shows it: state, current step, steps with their attempts."""
    context = instance.context
    pending = context.get("pending")
    steps = [
        {
            "name": name,
            "status": record.get("status"),
            "attempts": [_attempt(a) for a in record.get("attempts", ())],
            "output": record.get("output"),
            "error": record.get("error"),
        }
        for name in template.steps
        if (record := context["steps"].get(name)) is not None
    ]
    return {
        "id": instance.id,
        "workflow": {"name": instance.machine, "version": instance.version},
        "state": instance.state,
        "status": instance.state if instance.state in TERMINAL_STATES else "running",
        "current_step": pending["step"] if pending else None,
        "pending": _pending(pending),
        "agent_id": instance.agent_id,
        "input": context["input"],
        "output": context.get("output"),
        "error": context.get("error"),
        "steps": steps,
        "created_at": timestamp(instance.created_at),
        "updated_at": timestamp(instance.updated_at),
        "revision": instance.revision,
    }


def _pending(pending: dict[str, Any] | None) -> dict[str, Any] | None:
    if not pending:
        return None
    shown = {
        key: pending[key] for key in ("step", "attempt", "status", "agent_id") if key in pending
    }
    if "due" in pending:
        shown["due"] = timestamp(pending["due"])
    return shown


def agent_task(instance: Instance) -> dict[str, Any]:
    """A step waiting for an agent's report."""
    pending = instance.context["pending"]
    attempts = instance.context["steps"][pending["step"]]["attempts"]
    return {
        "run_id": instance.id,
        "workflow": {"name": instance.machine, "version": instance.version},
        "step": pending["step"],
        "attempt": pending["attempt"],
        "agent_id": pending["agent_id"],
        "request": pending.get("request", {}),
        "waiting_since": timestamp(attempts[-1]["started_at"]),
    }


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
