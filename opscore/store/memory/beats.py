"""Heartbeats in a dict, for the memory store."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from ..liveness import Beat


class MemoryHeartbeats:
    """One lock; a sweep looks at every watched beat (fleets this size fit in memory)."""

    def __init__(self) -> None:
        self._beats: dict[str, Beat] = {}
        self._lock = threading.Lock()

    def beat(self, agent_id: str, at: float, due: float | None) -> Beat:
        with self._lock:
            old = self._beats.get(agent_id)
            if old is not None and old.last_seen > at:
                return old
            new = Beat(agent_id, at, due, old.missed if old else None)
            self._beats[agent_id] = new
            return new

    def seen(self, agent_ids: Iterable[str]) -> dict[str, Beat]:
        with self._lock:
            return {i: self._beats[i] for i in agent_ids if i in self._beats}

    def overdue(self, now: float, limit: int) -> list[Beat]:
        with self._lock:
            due = [b for b in self._beats.values() if b.due is not None and b.due <= now]
        return sorted((b for b in due if not b.reported), key=lambda b: b.due or 0.0)[:limit]

    def reported(self, agent_id: str, last_seen: float) -> None:
        with self._lock:
            old = self._beats.get(agent_id)
            if old is not None and old.last_seen == last_seen:
                self._beats[agent_id] = replace(old, missed=last_seen)

    def forget(self, agent_id: str) -> None:
        with self._lock:
            self._beats.pop(agent_id, None)
