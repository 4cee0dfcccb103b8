"""`OpsCore` wires definitions, engine, store and services together for Python callers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .callbacks import CallbackRegistry, default_registry
from .config import Settings
from .definitions import DefinitionRegistry, Problem
from .engine import Engine
from .services.agents import AgentService
from .services.lifecycle import Lifecycle
from .services.sessions import SessionService
from .store import MemoryStore, Store


class OpsCore:
    """The services of one Ops-Core process over one store."""

    def __init__(
        self,
        definitions: DefinitionRegistry,
        store: Store,
        callbacks: CallbackRegistry = default_registry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.definitions = definitions
        self.store = store
        self.engine = Engine(definitions, callbacks)
        self.lifecycle = Lifecycle(store, self.engine, clock=clock)
        self.sessions = SessionService(self.lifecycle)
        self.agents = AgentService(self.lifecycle, self.sessions)
        self.warnings: list[Problem] = []

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | Path],
        store: Store | None = None,
        callbacks: CallbackRegistry = default_registry,
        **kwargs: object,
    ) -> OpsCore:
        """Load every definition under `paths` (DefinitionError if any is invalid)."""
        definitions = DefinitionRegistry()
        warnings = definitions.load(paths, callbacks)
        core = cls(definitions, store or MemoryStore(), callbacks, **kwargs)
        core.warnings = warnings
        return core

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None) -> OpsCore:
        """An OpsCore configured by `settings`, with an in-memory store unless given one."""
        store = store or MemoryStore(settings.history_cap, settings.idempotency_ttl)
        return cls.from_paths([settings.machines_dir], store)
