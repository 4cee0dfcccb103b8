"""`OpsCore` wires definitions, engine, store, queue, services and workers together; the
store `OPSCORE_DATABASE_URL` names is opened (and migrated) here too."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .callbacks import CallbackRegistry, default_registry
from .clock import Clock, SystemClock
from .config import DEFAULT_PUSH_ATTEMPTS, DEFAULT_WORKERS, ConfigError, Settings
from .definitions import DefinitionRegistry, Problem
from .engine import Engine
from .plugins import load_plugins
from .push import AgentKitWebhook, Outbound, OutboundPolicy, PushService
from .runs import Attempts, Explainer, RunService, StepRunner, Sweeper, TaskService, WorkerPool
from .services.agents import AgentService
from .services.definitions import DefinitionService
from .services.lifecycle import Lifecycle
from .services.sessions import SessionService
from .services.validation import DEFAULT_LIMITS, Limits
from .store import MemoryStore, MemoryWorkQueue, Store
from .tasks import TaskRegistry
from .tasks.builtin import default_tasks


class OpsCore:
    """The services of one Ops-Core process over one store (and its work queue)."""

    def __init__(
        self,
        definitions: DefinitionRegistry,
        store: Store | None = None,
        callbacks: CallbackRegistry = default_registry,
        tasks: TaskRegistry = default_tasks,
        clock: Any = None,
        rng: random.Random | None = None,
        limits: Limits = DEFAULT_LIMITS,
        push: OutboundPolicy | None = None,
        push_attempts: int = DEFAULT_PUSH_ATTEMPTS,
        agentkit_secret: str = "",
        paths: Iterable[str | Path] = (),
    ) -> None:
        self.clock = clock or SystemClock()
        self.definitions = definitions
        self.store = store or MemoryStore(clock=self.clock)
        self.tasks = tasks
        self.engine = Engine(definitions, callbacks)
        self.definition_service = DefinitionService(
            definitions,
            callbacks,
            tasks,
            tuple(paths),
            self.store.definitions,
            self.clock,
            self.store.count_by_version,
        )
        self.lifecycle = Lifecycle(self.store, self.engine, clock=self.clock, limits=limits)
        self.sessions = SessionService(self.lifecycle)
        self.agents = AgentService(self.lifecycle, self.sessions)
        self.runs = RunService.build(self.lifecycle, self.agents, rng)
        self.attempts = Attempts(self.runs)
        self.agent_tasks = TaskService(self.runs)
        self.sweeper = Sweeper(self.agents, self.agent_tasks)
        self.explainer = Explainer(self.agent_tasks)
        outbound = Outbound(push or OutboundPolicy())  # by default, nothing may be called
        self.push = PushService(
            self.agent_tasks, self.store.push, self.store.queue, self.clock, outbound, push_attempts
        )
        self.agentkit = AgentKitWebhook(
            agentkit_secret, self.agents, self.push, self.store.push, self.clock
        )
        self.runner = StepRunner(
            self.attempts, tasks, self.agents, limits, self.agent_tasks, self.push
        )
        self.warnings: list[Problem] = []
        self._pool: WorkerPool | None = None

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | Path],
        store: Store | None = None,
        callbacks: CallbackRegistry = default_registry,
        tasks: TaskRegistry = default_tasks,
        **kwargs: Any,
    ) -> OpsCore:
        """Load every definition under `paths` (DefinitionError if any is invalid)."""
        core = cls(DefinitionRegistry(), store, callbacks, tasks, paths=paths, **kwargs)
        core.warnings = core.definition_service.load()
        return core

    @classmethod
    def from_settings(cls, settings: Settings) -> OpsCore:
        """An OpsCore configured by `settings`: its plugins, its definitions, and the store
        its URL names."""
        load_plugins(default_registry, default_tasks, settings.plugin_modules)
        clock = SystemClock()
        limits = Limits(json_bytes=settings.max_json_bytes)
        paths = (settings.machines_dir,)
        # The folder first: one with errors refuses to start before the store opens.
        DefinitionService(DefinitionRegistry(), default_registry, default_tasks, paths).load()
        store = open_store(settings, clock)
        core = cls(
            DefinitionRegistry(),
            store,
            clock=clock,
            limits=limits,
            paths=paths,
            push=OutboundPolicy.from_settings(settings),
            push_attempts=settings.push_attempts,
            agentkit_secret=settings.agentkit_secret,
        )
        core.warnings = core.definition_service.load()  # and into the store, for every process
        return core

    @property
    def workers(self) -> WorkerPool | None:
        """The worker pool `start` started, if it runs."""
        return self._pool

    def start(self, workers: int = DEFAULT_WORKERS) -> None:
        """Start the worker threads that run workflow steps (idempotent)."""
        if self._pool is None and workers > 0:
            self._pool = WorkerPool(self.store.queue, self.runner, workers, clock=self.clock)
            self._pool.start()
            self.sweeper.start()

    def stop(self) -> None:
        """Stop the worker threads, letting busy ones finish their item."""
        if self._pool is not None:
            self.sweeper.stop()
            self._pool.stop()
            self._pool = None


def open_store(settings: Settings, clock: Clock) -> Store:
    """The store `settings.database_url` names; a SQL one must be migrated to the newest schema."""
    if settings.in_memory:
        queue = MemoryWorkQueue(settings.queue_capacity, clock)
        return MemoryStore(settings.history_cap, settings.idempotency_ttl, clock, queue)
    from .store.migrations import current, head
    from .store.sql import SqlStore

    engine = _connect(settings)
    at, newest = current(engine), head()
    if at != newest:
        engine.dispose()
        raise ConfigError(
            f"the database schema is at {at or 'nothing'}, not {newest}: "
            "run `opscore db upgrade` (make run does)"
        )
    return SqlStore(
        engine,
        settings.history_cap,
        settings.idempotency_ttl,
        clock,
        settings.queue_capacity,
        settings.work_lease,
    )


def migrate_store(settings: Settings) -> tuple[str | None, str] | None:
    """Bring the SQL store's schema to the newest revision: (revision before, after).

    Safe to repeat; None for `memory://`, which has no schema.
    """
    if settings.in_memory:
        return None
    from .store.migrations import current, head, upgrade

    engine = _connect(settings)
    try:
        before = current(engine)
        upgrade(engine)
        return before, head()
    finally:
        engine.dispose()


def _connect(settings: Settings) -> Any:
    """The SQL engine of `settings.database_url` (ConfigError for a bad URL or driver)."""
    from .store.sql import connect

    try:
        return connect(settings.database_url, settings.sqlite_synchronous)
    except Exception as error:  # a malformed URL or a missing driver
        raise ConfigError(f"OPSCORE_DATABASE_URL: {error}") from None
