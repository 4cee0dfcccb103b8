"""Every loaded version of every definition; an instance pins (name, version)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import MachineNotFound, MachineRetired
from .loader import definition_files, load_file
from .machine.checks import CallbackNames
from .model import MachineDefinition
from .problems import DefinitionError, Problem, errors_only
from .workflow.checks import child_workflow_problems


class DefinitionRegistry:
    """Thread-safe store of definitions; versions are added, never replaced."""

    def __init__(self) -> None:
        self._versions: dict[str, dict[int, MachineDefinition]] = {}
        self._lock = threading.Lock()
        self._retired: set[tuple[str, int]] = set()
        self._refresh: Callable[[bool], object] | None = None

    def refresh_from(self, refresh: Callable[[bool], object]) -> None:
        """Call `refresh(False)` before each lookup (it keeps itself cheap) and
        `refresh(True)` when a version is missing.

        Another process may have stored a newer version (a PUT, a reload, a rolling
        deploy): a worker that meets a run pinned to it loads it instead of failing.
        """
        self._refresh = refresh

    def retire(self, keys: Iterable[tuple[str, int]]) -> None:
        """Mark these (name, version) retired: no new instances; running ones go on."""
        with self._lock:
            self._retired |= set(keys)

    def is_retired(self, name: str, version: int) -> bool:
        """Whether the version is retired."""
        return (name, version) in self._retired

    def add(self, definition: MachineDefinition) -> Problem | None:
        """Add a definition; a known version with different content is a problem, not a swap."""
        with self._lock:
            problem = self._conflict(definition)
            if problem is None:
                self._versions.setdefault(definition.name, {}).setdefault(
                    definition.version, definition
                )
            return problem

    def conflict(self, definition: MachineDefinition) -> Problem | None:
        """Why `definition` could not be added beside the loaded ones, if it could not."""
        with self._lock:
            return self._conflict(definition)

    def _conflict(self, definition: MachineDefinition) -> Problem | None:
        versions = self._versions.get(definition.name, {})
        known = versions.get(definition.version)
        if known is not None and known.content_hash != definition.content_hash:
            return Problem(
                definition.source,
                definition.lines.get("version", 1),
                "version",
                f"'{definition.name}' version {definition.version} is already loaded from "
                f"{known.source} with different content; raise `version`",
            )
        if versions and next(iter(versions.values())).kind != definition.kind:
            kind = next(iter(versions.values())).kind
            return Problem(
                definition.source,
                definition.lines.get("kind", 1),
                "kind",
                f"'{definition.name}' is already a {kind} machine",
            )
        return None

    def load(
        self, paths: Iterable[str | Path], callbacks: CallbackNames, **options: Any
    ) -> list[Problem]:
        """Load every definition under `paths`; raise DefinitionError naming every error.

        Nothing is added unless every file is valid. Returns the warnings.
        """
        definitions, problems = [], []
        for file in definition_files(paths):
            result = load_file(file, callbacks, **options)
            problems += result.problems
            if result.definition is not None:
                definitions.append(result.definition)
        problems += _duplicates(definitions)
        if not errors_only(problems):
            known = {d.key: d for d in [*self.latest(), *definitions]}
            problems += child_workflow_problems(definitions, list(known.values()))
        if not errors_only(problems):
            problems += [p for d in definitions if (p := self.add(d)) is not None]
        if errors_only(problems):
            raise DefinitionError(errors_only(problems))
        return problems

    def get(self, name: str, version: int | None = None) -> MachineDefinition:
        """The definition `name` at `version`, or its latest version that is not retired
        (MachineRetired when every one is)."""
        if self._refresh is not None:
            self._refresh(False)
        try:
            return self._get(name, version)
        except MachineNotFound:
            if self._refresh is None:
                raise
            self._refresh(True)
        return self._get(name, version)

    def _get(self, name: str, version: int | None) -> MachineDefinition:
        versions = self._versions.get(name)
        if not versions:
            raise MachineNotFound(name, version)
        if version is None:
            live = [v for v in versions if (name, v) not in self._retired]
            if not live:
                raise MachineRetired(name)
            return versions[max(live)]
        try:
            return versions[version]
        except KeyError:
            raise MachineNotFound(name, version) from None

    def latest(self, kind: str | None = None) -> list[MachineDefinition]:
        """The latest version of every definition (of one kind), sorted by name."""
        with self._lock:
            latest = [v[max(v)] for v in self._versions.values()]
        return sorted((d for d in latest if kind is None or d.kind == kind), key=lambda d: d.name)

    def names(self) -> set[str]:
        """Every loaded definition's name."""
        with self._lock:
            return set(self._versions)

    def loaded_keys(self) -> set[tuple[str, int]]:
        """Every loaded (name, version)."""
        with self._lock:
            return {(name, v) for name, versions in self._versions.items() for v in versions}

    def versions(self, name: str) -> list[int]:
        """Every loaded version of `name`, oldest first."""
        if name not in self._versions:
            raise MachineNotFound(name)
        return sorted(self._versions[name])

    def __len__(self) -> int:
        return sum(len(v) for v in self._versions.values())


def _duplicates(definitions: list[MachineDefinition]) -> list[Problem]:
    """Two files defining the same (name, version) are an error in the second."""
    seen: dict[tuple[str, int], MachineDefinition] = {}
    problems = []
    for definition in definitions:
        first = seen.setdefault(definition.key, definition)
        if first is not definition:
            problems.append(
                Problem(
                    definition.source,
                    definition.lines.get("name", 1),
                    "name",
                    f"'{definition.name}' version {definition.version} is also defined in "
                    f"{first.source}",
                )
            )
    return problems
