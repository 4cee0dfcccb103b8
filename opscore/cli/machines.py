"""`opscore machines`: check, show and draw machine definitions."""

from __future__ import annotations

import os
import sys

import click

from ..callbacks import default_registry
from ..definitions import DefinitionError, DefinitionRegistry, MachineDefinition
from ..engine.diagram import mermaid
from ..errors import NotFound
from ..tasks.builtin import default_tasks
from .output import table

DEFAULT_DIR = "machines"


def _default_dir() -> str:
    return os.environ.get("OPSCORE_MACHINES_DIR", DEFAULT_DIR)


def _load(paths: tuple[str, ...]) -> tuple[DefinitionRegistry, list]:
    default_registry.load_entry_points()
    default_tasks.load_entry_points()
    registry = DefinitionRegistry()
    warnings = registry.load(paths or (_default_dir(),), default_registry, task_types=default_tasks)
    return registry, warnings


def _find(name: str, version: int | None, directory: str | None) -> MachineDefinition:
    try:
        registry, _ = _load((directory,) if directory else ())
        return registry.get(name, version)
    except DefinitionError as error:
        raise click.ClickException(error.message) from None
    except NotFound as error:
        raise click.ClickException(error.message) from None


@click.group()
def machines() -> None:
    """Check, show and draw machine definitions."""


@machines.command()
@click.argument("paths", nargs=-1, type=click.Path())
def check(paths: tuple[str, ...]) -> None:
    """Validate definition files or directories (default: $OPSCORE_MACHINES_DIR or machines/).

    Prints one `file:line: path: message` line per problem; exits 1 when any is an error.
    """
    try:
        warnings = _load(paths)[1]
    except DefinitionError as error:
        for problem in error.problems:
            click.echo(str(problem))
        sys.exit(1)
    for problem in warnings:
        click.echo(str(problem))


@machines.command()
@click.argument("name")
@click.option("--version", "version", type=int, help="A loaded version (default: the latest).")
@click.option("--dir", "directory", type=click.Path(), help="Where the definitions are.")
def show(name: str, version: int | None, directory: str | None) -> None:
    """Print a machine's states and transitions as tables."""
    definition = _find(name, version, directory)
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
@click.option("--dir", "directory", type=click.Path(), help="Where the definitions are.")
def diagram(name: str, version: int | None, state: str | None, directory: str | None) -> None:
    """Print a machine as a Mermaid stateDiagram-v2."""
    definition = _find(name, version, directory)
    if state is not None and state not in definition.state_names:
        raise click.ClickException(f"machine '{name}' has no state '{state}'")
    click.echo(mermaid(definition, current=state))
