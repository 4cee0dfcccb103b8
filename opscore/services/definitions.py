"""`DefinitionService`: the one way in to definitions for the CLI, the API and start-up.

Loading a folder, reloading it, validating one document and drawing a definition all
go through here, with the same callbacks and task types, so a check never answers
differently from a load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..callbacks import CallbackRegistry
from ..definitions import DefinitionError as DefinitionError  # what the API may know of
from ..definitions import DefinitionRegistry, LoadResult, MachineDefinition, Problem, load_text
from ..definitions.problems import errors_only
from ..definitions.workflow.checks import child_workflow_problems
from ..definitions.workflow.template import TERMINAL_STATES as TERMINAL_STATES
from ..definitions.workflow.template import WorkflowTemplate as WorkflowTemplate
from ..definitions.yamlsafe import parse_document, read_definition_text
from ..engine.diagram import mermaid
from ..errors import InvalidRequest
from ..tasks import TaskRegistry


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
    ) -> None:
        self.registry = registry
        self.callbacks = callbacks
        self.tasks = tasks
        self.paths = tuple(paths)

    def load(self, paths: Sequence[str | Path] | None = None) -> list[Problem]:
        """Load every definition under `paths` (default: this service's); DefinitionError
        names every error and nothing is added. Returns the warnings."""
        chosen = self.paths if paths is None else paths
        return self.registry.load(chosen, self.callbacks, task_types=self.tasks)

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

    def get(self, name: str, version: int | None = None) -> MachineDefinition:
        """The definition `name` at `version` (default: its latest); MachineNotFound."""
        return self.registry.get(name, version)

    def versions(self, name: str) -> list[int]:
        """Every loaded version of `name`, oldest first; MachineNotFound."""
        return self.registry.versions(name)

    def latest(self, kind: str | None = None) -> list[MachineDefinition]:
        """The latest version of every definition (of one kind), sorted by name."""
        return self.registry.latest(kind)

    def keys(self) -> list[tuple[str, int]]:
        """Every loaded (name, version), sorted."""
        return [(d.name, v) for d in self.registry.latest() for v in self.registry.versions(d.name)]

    def count(self) -> int:
        """How many versions are loaded, of every definition."""
        return len(self.registry)

    def draw(self, name: str, version: int | None = None, state: str | None = None) -> str:
        """A Mermaid drawing of the definition; InvalidRequest for a state it does not have."""
        definition = self.get(name, version)
        if state is not None and state not in definition.state_names:
            raise InvalidRequest(f"machine '{name}' has no state '{state}'", "state")
        return mermaid(definition, current=state)


def definition_text(raw: bytes, file: str) -> str:
    """`raw` as definition text; DefinitionError unless it is one YAML or JSON mapping."""
    text = read_definition_text(raw, file)
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
