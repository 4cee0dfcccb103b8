"""Turn YAML/JSON text into validated `MachineDefinition` values, or into located problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from marshmallow import ValidationError

from .fields import DROP, flatten_errors, load_despite
from .machine.checks import CallbackNames, check_machine, expand_sources
from .machine.schema import MACHINE_KINDS, MachineSchema
from .model import HeartbeatSpec, MachineDefinition, StateSpec, TransitionSpec, content_hash
from .problems import DefinitionError, Problem, errors_only
from .yamlsafe import Document, parse_document, read_definition_text

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 1024 * 1024

# kind -> function(doc, callbacks, options) -> (definition or None, problems)
KindLoader = Callable[
    [Document, CallbackNames, dict], tuple[MachineDefinition | None, list[Problem]]
]
_KIND_LOADERS: dict[str, KindLoader] = {}

# Fields no graph check reads: when only these are wrong, the graph is checked anyway.
MACHINE_STAND_INS = {
    "name": "unnamed",
    "version": 1,
    "description": DROP,
    "states": {"description": DROP, "tags": DROP, "on_enter": DROP, "on_exit": DROP},
    "transitions": {"description": DROP, "before": DROP, "after": DROP},
}


def register_kind(kind: str, loader: KindLoader) -> None:
    """Let a module (workflows) teach the loader one more `kind`."""
    _KIND_LOADERS[kind] = loader


@dataclass
class LoadResult:
    """The outcome of loading one document: a definition when it has no errors."""

    definition: MachineDefinition | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stopped the definition from loading."""
        return errors_only(self.problems)


def load_text(text: str, file: str, callbacks: CallbackNames, **options: Any) -> LoadResult:
    """Parse, validate and check one document."""
    try:
        doc = parse_document(text, file)
    except DefinitionError as error:
        return LoadResult(None, list(error.problems))
    kind = doc.data.get("kind")
    loader = _KIND_LOADERS.get(kind, load_machine) if isinstance(kind, str) else load_machine
    definition, problems = loader(doc, callbacks, options)
    return LoadResult(definition if not errors_only(problems) else None, sorted(problems))


def load_file(path: str | Path, callbacks: CallbackNames, **options: Any) -> LoadResult:
    """Load one definition file; its errors name the path as given."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        return LoadResult(None, [Problem(name, 1, "(root)", f"cannot read: {error.strerror}")])
    if len(raw) > MAX_FILE_BYTES:
        return LoadResult(None, [Problem(name, 1, "(root)", f"larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = read_definition_text(raw, name)
    except DefinitionError as error:
        return LoadResult(None, list(error.problems))
    return load_text(text, name, callbacks, **options)


def definition_files(paths: Iterable[str | Path]) -> list[Path]:
    """The definition files named by `paths`, directories searched recursively, sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in DEFINITION_SUFFIXES)
        else:
            files.append(path)
    return files


def load_machine(doc: Document, callbacks: CallbackNames, options: dict) -> tuple:
    """Validate an `agent` or `session` document and build its definition."""
    kind = doc.data.get("kind")
    if kind not in MACHINE_KINDS:
        message = f"must be one of: {', '.join(MACHINE_KINDS)}"
        return None, [doc.problem(("kind",), message)]
    try:
        data = MachineSchema().load(doc.data)
    except ValidationError as error:
        problems = [doc.problem(path, msg) for path, msg in flatten_errors(error.messages)]
        readable = load_despite(MachineSchema(), doc.data, error.messages, MACHINE_STAND_INS)
        if readable is not None:  # the graph can still be read: check it too
            problems += check_machine(doc, readable, callbacks)
        return None, problems
    problems = check_machine(doc, data, callbacks)
    if errors_only(problems):
        return None, problems
    return build_machine(data, doc), problems


def build_machine(
    data: dict, doc: Document, spec: dict | None = None, workflow: Any = None
) -> MachineDefinition:
    """Build the immutable definition from validated, checked data."""
    states = tuple(
        StateSpec(
            name=s["name"],
            description=s["description"],
            tags=tuple(s["tags"]),
            final=s["final"],
            on_enter=tuple(s["on_enter"]),
            on_exit=tuple(s["on_exit"]),
        )
        for s in data["states"]
    )
    transitions = tuple(
        TransitionSpec(
            trigger=t["trigger"],
            sources=tuple(expand_sources(t["source"], data["states"])),
            dest=t["dest"],
            conditions=tuple(t["conditions"]),
            unless=tuple(t["unless"]),
            before=tuple(t["before"]),
            after=tuple(t["after"]),
            description=t["description"],
        )
        for t in data["transitions"]
    )
    return MachineDefinition(
        kind=data["kind"],
        name=data["name"],
        version=data["version"],
        initial=data["initial"],
        states=states,
        transitions=transitions,
        description=data["description"],
        source=doc.file,
        lines=MappingProxyType({key: doc.line_of((key,)) for key in ("kind", "name", "version")}),
        content_hash=content_hash(spec if spec is not None else data),
        spec=MappingProxyType(spec or {}),
        workflow=workflow,
        heartbeat=_heartbeat(data.get("heartbeat")),
    )


def _heartbeat(data: dict | None) -> HeartbeatSpec | None:
    return None if data is None else HeartbeatSpec(every=data["every"], missed=data["missed"])
