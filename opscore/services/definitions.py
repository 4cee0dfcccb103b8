"""`DefinitionService`: the one way in to definitions for the CLI, the API and start-up.

Loading a folder, reloading it, validating one document, storing a new version, retiring
one and drawing a definition all go through here, with the same callbacks and task types,
so a check never answers differently from a load. With a definition store, what one
process loads or is given reaches every other within SYNC_EVERY (`definition_sync`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..callbacks import CallbackRegistry
from ..clock import Clock, SystemClock
from ..definitions import DefinitionError as DefinitionError  # what the API may know of
from ..definitions import DefinitionRegistry, LoadResult, MachineDefinition, Problem, load_text
from ..definitions.problems import errors_only
from ..definitions.workflow.checks import child_workflow_problems
from ..definitions.workflow.template import TERMINAL_STATES as TERMINAL_STATES
from ..definitions.workflow.template import WorkflowTemplate as WorkflowTemplate
from ..definitions.yamlsafe import parse_document, read_definition_text
from ..engine.diagram import mermaid
from ..errors import InvalidRequest, MachineNotFound
from ..store.definitions import DefinitionStore
from ..tasks import TaskRegistry
from .definition_sync import DefinitionSync


@dataclass(frozen=True)
class VersionInfo:
    """One version of a definition: whether it is retired, and its instances."""

    version: int
    content_hash: str
    retired: bool
    instances: int


@dataclass(frozen=True)
class Reloaded:
    """What a reload added: (name, version) pairs, and the warnings of the files read."""

    added: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class DefinitionService:
    """Definitions loaded from `paths` into `registry`, checked with one set of callbacks
    and task types."""

    def __init__(
        self,
        registry: DefinitionRegistry,
        callbacks: CallbackRegistry,
        tasks: TaskRegistry,
        paths: Sequence[str | Path] = (),
        store: DefinitionStore | None = None,
        clock: Clock | None = None,
        instance_counts: Callable[[str], dict[int, int]] | None = None,
    ) -> None:
        self.registry = registry
        self.callbacks = callbacks
        self.tasks = tasks
        self.paths = tuple(paths)
        self._sync = None
        self._instance_counts = instance_counts or (lambda name: {})
        if store is not None:
            self._sync = DefinitionSync(registry, store, clock or SystemClock(), self._checked)
            registry.refresh_from(self._sync.sync)

    def _checked(self, text: str, file: str) -> MachineDefinition | None:
        return load_text(text, file, self.callbacks, task_types=self.tasks).definition

    def sync(self, now: bool = False) -> None:
        """Load the versions other processes stored (at most every SYNC_EVERY seconds)."""
        if self._sync is not None:
            self._sync.sync(now)

    def load(self, paths: Sequence[str | Path] | None = None) -> list[Problem]:
        """Load every definition under `paths` (default: this service's) and store the new
        ones; DefinitionError names every error and nothing is added. Returns the warnings."""
        chosen = self.paths if paths is None else paths
        self.sync(now=True)
        before = self.registry.loaded_keys()
        warnings = self.registry.load(chosen, self.callbacks, task_types=self.tasks)
        if self._sync is not None:
            added = [
                self.registry.get(n, v) for n, v in sorted(self.registry.loaded_keys() - before)
            ]
            problems = self._sync.publish(added)
            if problems:
                raise DefinitionError(problems)
        return warnings

    def reload(self) -> Reloaded:
        """Load new versions from this service's folders; say which ones were added."""
        before = set(self.keys())
        warnings = self.load()
        return Reloaded([key for key in self.keys() if key not in before], warnings)

    def validate(self, text: str, file: str) -> LoadResult:
        """Check one document exactly as loading it beside the loaded definitions would."""
        result = load_text(text, file, self.callbacks, task_types=self.tasks)
        definition = result.definition
        if definition is None:
            return result
        known = {d.key: d for d in [*self.registry.latest(), definition]}
        problems = child_workflow_problems([definition], list(known.values()))
        conflict = self.registry.conflict(definition)
        problems += [conflict] if conflict is not None else []
        if not problems:
            return result
        problems = sorted([*result.problems, *problems])
        return LoadResult(None if errors_only(problems) else definition, problems)

    def put(self, name: str, text: str, file: str) -> tuple[MachineDefinition, bool]:
        """Store `text` as a new version of `name`, checked exactly as a file; (definition,
        whether it is new). The same content again changes nothing; DefinitionError
        names every problem, a version that does not grow among them."""
        self.sync(now=True)
        result = self.validate(text, file)
        definition = result.definition
        if definition is None:
            raise DefinitionError(result.errors)
        if definition.name != name:
            message = f"is '{definition.name}', but the path names '{name}'"
            raise DefinitionError([_problem(definition, "name", message)])
        known = self.registry.versions(name) if name in self.registry.names() else []
        if definition.version in known:
            return self.registry.get(name, definition.version), False
        if known and definition.version < max(known):
            message = f"must grow: '{name}' is already at version {max(known)}"
            raise DefinitionError([_problem(definition, "version", message)])
        if self._sync is not None:
            problem = self._sync.store_one(definition, text)
            if problem is not None:
                raise DefinitionError([problem])
        conflict = self.registry.add(definition)
        if conflict is not None:
            raise DefinitionError([conflict])
        return definition, True

    def retire(self, name: str, version: int) -> VersionInfo:
        """Retire one version: no new instances of it; running ones go on."""
        self.get(name, version)  # MachineNotFound unless loaded
        if self._sync is not None and self._sync.store.retire(name, version) is None:
            raise MachineNotFound(name, version)  # loaded here, but never stored
        self.registry.retire([(name, version)])
        return next(v for v in self.version_infos(name) if v.version == version)

    def version_infos(self, name: str) -> list[VersionInfo]:
        """Every version of `name`, oldest first, with whether it is retired and how many
        instances it has."""
        versions = self.versions(name)
        counts = self._instance_counts(name)
        return [
            VersionInfo(
                version,
                self.registry.get(name, version).content_hash,
                self.registry.is_retired(name, version),
                counts.get(version, 0),
            )
            for version in versions
        ]

    def get(self, name: str, version: int | None = None) -> MachineDefinition:
        """The definition `name` at `version` (default: its latest); MachineNotFound."""
        return self.registry.get(name, version)

    def versions(self, name: str) -> list[int]:
        """Every loaded version of `name`, oldest first; MachineNotFound."""
        self.sync()
        return self.registry.versions(name)

    def latest(self, kind: str | None = None) -> list[MachineDefinition]:
        """The latest version of every definition (of one kind), sorted by name."""
        self.sync()
        return self.registry.latest(kind)

    def keys(self) -> list[tuple[str, int]]:
        """Every loaded (name, version), sorted."""
        self.sync()
        return sorted(self.registry.loaded_keys())

    def count(self) -> int:
        """How many versions are loaded, of every definition."""
        self.sync()
        return len(self.registry)

    def draw(self, name: str, version: int | None = None, state: str | None = None) -> str:
        """A Mermaid drawing of the definition; InvalidRequest for a state it does not have."""
        definition = self.get(name, version)
        if state is not None and state not in definition.state_names:
            raise InvalidRequest(f"machine '{name}' has no state '{state}'", "state")
        return mermaid(definition, current=state)


def _problem(definition: MachineDefinition, field: str, message: str) -> Problem:
    return Problem(definition.source, definition.lines.get(field, 1), field, message)


def definition_text(raw: bytes, file: str, is_json: bool | None = None) -> str:
    """`raw` as definition text; DefinitionError unless it is one YAML or JSON mapping."""
    text = read_definition_text(raw, file, is_json=is_json)
    parse_document(text, file)
    return text


def summary_json(definition: MachineDefinition, versions: list[int]) -> dict[str, Any]:
    """A definition's identity: name, kind, version, every loaded version, hash."""
    return {
        "name": definition.name,
        "kind": definition.kind,
        "version": definition.version,
        "versions": versions,
        "description": definition.description,
        "content_hash": definition.content_hash,
    }


def definition_json(definition: MachineDefinition, versions: list[int]) -> dict[str, Any]:
    """A definition with its states and transitions."""
    return {
        **summary_json(definition, versions),
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


def problem_json(item: Problem) -> dict[str, Any]:
    """A definition problem, with its one-line `file:line: path: message` text."""
    return {
        "file": item.file,
        "line": item.line,
        "path": item.path,
        "message": item.message,
        "severity": item.severity,
        "text": str(item),
    }
