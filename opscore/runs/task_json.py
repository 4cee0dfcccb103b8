"""A task as JSON: what `GET /v1/tasks/{id}` answers and what a push delivers, one shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .tasks import Task


def timestamp(epoch: float) -> str:
    """An RFC 3339 UTC timestamp with microseconds."""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def task_json(found: Task, token: str | None = None) -> dict[str, Any]:
    """A task as the API shows it; `token` only to its holder (a claim's answer, a push)."""
    record = found.record
    shown = {
        "id": found.id,
        "run_id": found.run.id,
        "workflow": {"name": found.run.machine, "version": found.run.version},
        "step": found.step,
        "attempt": record.attempt,
        "state": str(found.state),
        "capability": record.capability,
        "agent_id": record.agent_id,
        "params": dict(record.request or {}),
        "lease_expires_at": timestamp(record.lease_until) if record.lease_until else None,
        "heartbeat_at": timestamp(record.heartbeat_at) if record.heartbeat_at else None,
        "waiting_since": timestamp(record.attempts[-1].started_at),
    }
    if token is not None:
        shown["lease_token"] = token
        shown["lease_seconds"] = (record.lease_until or 0.0) - (record.heartbeat_at or 0.0)
    return shown
