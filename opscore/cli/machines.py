"""`opscore machines`: check, show and draw definitions on disk; validate and reload on a
running service.

`check`, `show` and `diagram` read definition files (`--dir`, default
$OPSCORE_MACHINES_DIR or machines/) through the same `DefinitionService` the service
starts with, plugins (`OPSCORE_PLUGINS`, entry points) included. `validate FILE`,
`reload`, `put FILE`, `versions NAME` and `retire NAME VERSION` ask the service at `--url`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..callbacks import default_registry
from ..config import ConfigError, Settings
from ..definitions import DefinitionError, DefinitionRegistry, MachineDefinition
from ..errors import InvalidRequest, NotFound
from ..plugins import load_plugins
from ..services.definitions import DefinitionService, definition_json, problem_json
from ..tasks.builtin import default_tasks
from .output import echo_json, table
from .remote import ExitCode, Failure, connection_options, json_option, reports_failures, service

DEFAULT_DIR = "machines"
CONTENT_TYPES = {".json": "application/json"}

dir_option = click.option(
    "--dir",
    "directories",
    multiple=True,
    type=click.Path(),
    help="A definition file or folder (repeatable; default $OPSCORE_MACHINES_DIR or machines/).",
)


def _default_dir() -> str:
    return os.environ.get("OPSCORE_MACHINES_DIR", DEFAULT_DIR)


def _service(paths: tuple[str, ...]) -> DefinitionService:
    """The definitions service over `paths`, with the plugins the server would load."""
    try:
        load_plugins(default_registry, default_tasks, Settings.from_env().plugin_modules)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    chosen = paths or (_default_dir(),)
    return DefinitionService(DefinitionRegistry(), default_registry, default_tasks, chosen)


def _loaded(directories: tuple[str, ...]) -> DefinitionService:
    definitions = _service(directories)
    try:
        definitions.load()
    except DefinitionError as error:
        raise click.ClickException(error.message) from None
    return definitions


def _find(definitions: DefinitionService, name: str, version: int | None) -> MachineDefinition:
    try:
        return definitions.get(name, version)
    except NotFound as error:
        raise Failure(error.message, ExitCode.NOT_FOUND) from None


@click.group()
def machines() -> None:
    """Check, show and draw definitions; validate and reload them on a running service."""


@machines.command()
@click.argument("paths", nargs=-1, type=click.Path())
@dir_option
@json_option
def check(paths: tuple[str, ...], directories: tuple[str, ...], as_json: bool) -> None:
    """Validate definition files or folders (PATHS, or --dir; default machines/).

    Prints one `file:line: path: message` line per problem and exits 1 when any is an
    error; when none is, ends with `N definitions OK, W warnings`.
    """
    definitions = _service(paths + directories)
    try:
        warnings, errors = definitions.load(), []
    except DefinitionError as error:
        warnings, errors = [], error.problems
    problems = sorted([*errors, *warnings])
    if as_json:
        count = 0 if errors else definitions.count()
        echo_json(
            {
                "ok": not errors,
                "definitions": count,
                "problems": [problem_json(p) for p in problems],
            }
        )
    else:
        for problem in problems:
            click.echo(str(problem))
        if not errors:
            counts = _plural(definitions.count(), "definition"), _plural(len(warnings), "warning")
            click.echo("{} OK, {}".format(*counts))
    if errors:
        sys.exit(1)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@machines.command()
@click.argument("name")
@click.option("--version", "version", type=int, help="A loaded version (default: the latest).")
@dir_option
@json_option
def show(name: str, version: int | None, directories: tuple[str, ...], as_json: bool) -> None:
    """Print a machine's states and transitions as tables (exit 3 when there is no such one)."""
    definitions = _loaded(directories)
    definition = _find(definitions, name, version)
    if as_json:
        echo_json(definition_json(definition, definitions.versions(name)))
        return
    click.echo(
        f"{definition.name} v{definition.version} ({definition.kind}) "
        f"sha256:{definition.content_hash[:12]}  {definition.source}"
    )
    if definition.description:
        click.echo(definition.description)
    click.echo()
    click.echo(
        table(
            ("STATE", "FINAL", "ON ENTER", "ON EXIT", "DESCRIPTION"),
            [
                (
                    s.name + (" (initial)" if s.name == definition.initial else ""),
                    "yes" if s.final else "",
                    ", ".join(s.on_enter),
                    ", ".join(s.on_exit),
                    s.description,
                )
                for s in definition.states
            ],
        )
    )
    click.echo()
    click.echo(
        table(
            ("TRIGGER", "SOURCE", "DEST", "CONDITIONS", "ACTIONS"),
            [
                (
                    t.trigger,
                    ", ".join(t.sources),
                    t.dest,
                    ", ".join([*t.conditions, *(f"not {u}" for u in t.unless)]),
                    ", ".join([*t.before, *t.after]),
                )
                for t in definition.transitions
            ],
        )
    )


@machines.command()
@click.argument("name")
@click.option("--version", "version", type=int, help="A loaded version (default: the latest).")
@click.option("--state", help="Highlight this state as the current one.")
@dir_option
@json_option
def diagram(
    name: str,
    version: int | None,
    state: str | None,
    directories: tuple[str, ...],
    as_json: bool,
) -> None:
    """Print a machine as a Mermaid stateDiagram-v2 (exit 3 when there is no such one)."""
    definitions = _loaded(directories)
    definition = _find(definitions, name, version)
    try:
        text = definitions.draw(name, definition.version, state)
    except InvalidRequest as error:
        raise Failure(error.message, ExitCode.USAGE) from None
    if as_json:
        echo_json({"name": name, "version": definition.version, "state": state, "mermaid": text})
    else:
        click.echo(text)


@machines.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@connection_options(from_env=True)
@reports_failures
def validate(file: Path, as_json: bool) -> None:
    """Ask the running service whether FILE would load there (exit 1 when it would not).

    Prints the same `file:line: path: message` lines as `check`.
    """
    content_type = CONTENT_TYPES.get(file.suffix, "application/yaml")
    answer = service().machines.validate(
        file.read_bytes(), file=str(file), content_type=content_type
    )
    body = dict(answer)
    if as_json:
        echo_json(body)
    else:
        for problem in body["problems"]:
            click.echo(problem["text"])
        if body["valid"]:
            machine = body["machine"]
            click.echo(f"{file}: {machine['name']} v{machine['version']} is valid")
    if not body["valid"]:
        sys.exit(1)


@machines.command()
@json_option
@connection_options(from_env=True)
@reports_failures
def reload(as_json: bool) -> None:
    """Ask the running service to load new versions from its machines folder (admin key)."""
    body = dict(service().machines.reload())
    if as_json:
        echo_json(body)
        return
    for problem in body["warnings"]:
        click.echo(problem["text"])
    added = ", ".join(f"{m['name']} v{m['version']}" for m in body["added"])
    click.echo(f"added: {added or 'nothing new'}")


@machines.command()
@click.argument("name")
@json_option
@connection_options(from_env=True)
@reports_failures
def versions(name: str, as_json: bool) -> None:
    """List a machine's versions on the running service, with their instances."""
    listed = service().machines.versions(name)
    if as_json:
        echo_json(listed)
        return
    click.echo(
        table(
            ("VERSION", "RETIRED", "INSTANCES", "HASH"),
            [
                (
                    v["version"],
                    "yes" if v["retired"] else "",
                    v["instances"],
                    v["content_hash"][:12],
                )
                for v in listed
            ],
        )
    )


@machines.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="The machine's name (default: the file's name without suffix).")
@json_option
@connection_options(from_env=True)
@reports_failures
def put(file: Path, name: str | None, as_json: bool) -> None:
    """Store FILE as a new version on the running service (admin key); every process
    serves it within a second. Exits 2 listing every problem when it is refused."""
    content_type = CONTENT_TYPES.get(file.suffix, "application/yaml")
    stored = service().machines.put(name or file.stem, file.read_bytes(), content_type=content_type)
    if as_json:
        echo_json(dict(stored))
    else:
        click.echo(f"{stored['name']} v{stored['version']} stored; versions: {stored['versions']}")


@machines.command()
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@json_option
@connection_options(from_env=True)
@reports_failures
def retire(name: str, version: int, as_json: bool) -> None:
    """Retire a version on the running service (admin key): no new instances of it."""
    retired = service().machines.retire(name, version)
    if as_json:
        echo_json(dict(retired))
    else:
        click.echo(f"{name} v{version} retired ({retired['instances']} instances go on)")
