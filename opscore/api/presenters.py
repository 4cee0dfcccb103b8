"""Plain-dict representations of domain records: what the API answers (see schemas.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..store import Instance, TransitionRecord


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
