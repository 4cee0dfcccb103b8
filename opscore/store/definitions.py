"""Definitions kept in the store, so every process and host serves the same versions.

A stored definition is its source text (checked again by each process that loads it) and
what identifies it. Every change (a new version, a retirement) raises one generation
number in the same transaction, so a process learns that something changed by reading
one number.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class StoredDefinition:
    """One version of one definition as the store keeps it."""

    name: str
    version: int
    kind: str
    content_hash: str
    text: str
    file: str
    created_at: float
    retired: bool = False

    @property
    def key(self) -> tuple[str, int]:
        """(name, version)."""
        return self.name, self.version


class DefinitionStore(Protocol):
    """What the definitions service needs from a store."""

    def generation(self) -> int:
        """A number that grows with every change below."""
        ...

    def stored(self) -> Sequence[StoredDefinition]:
        """Every stored version of every definition, by name then version."""
        ...

    def put(self, definition: StoredDefinition) -> StoredDefinition:
        """Keep `definition` unless its (name, version) is stored; returns the stored one."""
        ...

    def retire(self, name: str, version: int) -> StoredDefinition | None:
        """Mark a stored version retired; None when it is not stored."""
        ...


class MemoryDefinitionStore:
    """Stored definitions of one process."""

    def __init__(self) -> None:
        self._definitions: dict[tuple[str, int], StoredDefinition] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def generation(self) -> int:
        """A number that grows with every change."""
        return self._generation

    def stored(self) -> list[StoredDefinition]:
        """Every stored version, by name then version."""
        with self._lock:
            return [self._definitions[key] for key in sorted(self._definitions)]

    def put(self, definition: StoredDefinition) -> StoredDefinition:
        """Keep `definition` unless its (name, version) is stored; returns the stored one."""
        with self._lock:
            known = self._definitions.get(definition.key)
            if known is not None:
                return known
            self._definitions[definition.key] = definition
            self._generation += 1
            return definition

    def retire(self, name: str, version: int) -> StoredDefinition | None:
        """Mark a stored version retired; None when it is not stored."""
        with self._lock:
            known = self._definitions.get((name, version))
            if known is None:
                return None
            if not known.retired:
                known = self._definitions[known.key] = replace(known, retired=True)
                self._generation += 1
            return known
