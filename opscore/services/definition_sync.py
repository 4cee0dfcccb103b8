"""Keeping one process's definitions in step with the store: what it loads from disk or is
given is stored, and what another process stored is loaded here, within SYNC_EVERY.

Each process checks the store's generation number at most once every SYNC_EVERY seconds
(at once when an instance names a version it does not know), and loads the stored
versions it lacks, checking each with its own callbacks and task types.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from loguru import logger

from ..clock import Clock
from ..definitions import DefinitionRegistry, MachineDefinition, Problem
from ..definitions.yamlsafe import read_definition_text
from ..store.definitions import DefinitionStore, StoredDefinition

SYNC_EVERY = 1.0  # seconds: the bound on how long a stored version takes to reach a process


class DefinitionSync:
    """One registry kept in step with one definition store."""

    def __init__(
        self,
        registry: DefinitionRegistry,
        store: DefinitionStore,
        clock: Clock,
        load: Callable[[str, str], MachineDefinition | None],
    ) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self._load = load  # (text, file) -> the checked definition, or None
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._unloadable: set[tuple[str, int, str]] = set()
        self._lock = threading.Lock()

    def publish(self, definitions: list[MachineDefinition]) -> list[Problem]:
        """Store each definition (read again from its file); the problems of versions stored
        with other content."""
        problems = []
        for definition in definitions:
            try:
                text = read_definition_text(_read(definition.source), definition.source)
            except OSError:
                continue  # not from a file (a test built it): nothing to share
            problem = self.store_one(definition, text)
            if problem is not None:
                problems.append(problem)
        return problems

    def store_one(self, definition: MachineDefinition, text: str) -> Problem | None:
        """Store one checked definition; a problem when the store holds other content."""
        stored = self.store.put(
            StoredDefinition(
                name=definition.name,
                version=definition.version,
                kind=definition.kind,
                content_hash=definition.content_hash,
                text=text,
                file=definition.source,
                created_at=self.clock.now(),
            )
        )
        if stored.content_hash == definition.content_hash:
            return None
        return Problem(
            definition.source,
            definition.lines.get("version", 1),
            "version",
            f"'{definition.name}' version {definition.version} is already stored (from "
            f"{stored.file}) with different content; raise `version`",
        )

    def sync(self, now: bool = False) -> None:
        """Load what the store holds and this process lacks; at most every SYNC_EVERY
        seconds unless `now`."""
        moment = self.clock.now()
        if not now and moment - self._checked_at < SYNC_EVERY:
            return
        with self._lock:
            self._checked_at = moment
            try:
                generation = self.store.generation()
                if generation == self._generation:
                    return
                stored = self.store.stored()
            except Exception as error:  # the store is down: serve what is loaded, try again
                logger.warning("cannot read stored definitions: {error}", error=error)
                return
            self._generation = generation
            loaded = self.registry.loaded_keys()
            for record in stored:
                if record.key not in loaded:
                    self._add(record)
            self.registry.retire(r.key for r in stored if r.retired)

    def _add(self, record: StoredDefinition) -> None:
        if _marker(record) in self._unloadable:
            return
        definition = self._load(record.text, record.file)
        problem = None if definition is None else self.registry.add(definition)
        if definition is None or problem is not None:
            self._unloadable.add(_marker(record))
            logger.warning(
                "stored definition {name} v{version} does not load in this process "
                "(a plugin missing here?); instances of it wait",
                name=record.name,
                version=record.version,
            )


def _marker(record: StoredDefinition) -> tuple[str, int, str]:
    return record.name, record.version, record.content_hash


def _read(source: str) -> bytes:
    with open(source, "rb") as file:
        return file.read()
