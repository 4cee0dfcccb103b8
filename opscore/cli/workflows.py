"""`opscore workflows`: the workflow templates a running service serves."""

from __future__ import annotations

import click

from ..client import iterate
from .output import compact, echo_json, fields, table
from .remote import connection_options, json_option, reports_failures, service

version_option = click.option(
    "--version", type=click.IntRange(min=1), help="This version (default: the newest)."
)


@click.group()
@connection_options(from_env=True)
def workflows() -> None:
    """List, show and draw the workflow templates of a running service."""


@workflows.command("list")
@json_option
@connection_options()
@reports_failures
def list_workflows(as_json: bool) -> None:
    """List every workflow template (its newest version), by name."""
    items = list(iterate(service().workflows.list, page_size=100))
    if as_json:
        echo_json(items)
        return
    click.echo(
        table(
            ("NAME", "VERSION", "STEPS", "DESCRIPTION"),
            [(w["name"], w["version"], len(w["steps"]), w["description"] or "-") for w in items],
        )
    )


@workflows.command()
@click.argument("name")
@version_option
@json_option
@connection_options()
@reports_failures
def show(name: str, version: int | None, as_json: bool) -> None:
    """Show a workflow template: its steps, start step, input and agent binding."""
    workflow = service().workflows.get(name, version)
    if as_json:
        echo_json(workflow)
        return
    click.echo(
        fields(
            [
                ("name", workflow["name"]),
                (
                    "version",
                    f"{workflow['version']} (of {', '.join(map(str, workflow['versions']))})",
                ),
                ("description", workflow["description"] or "-"),
                ("start", workflow["start"]),
                ("steps", ", ".join(workflow["steps"])),
                ("agent binding", compact(workflow["agent"]) or "-"),
                ("timeout", workflow["timeout"] or "-"),
                ("content hash", workflow["content_hash"]),
            ]
        )
    )


@workflows.command()
@click.argument("name")
@version_option
@json_option
@connection_options()
@reports_failures
def diagram(name: str, version: int | None, as_json: bool) -> None:
    """Print the template's run machine as Mermaid `stateDiagram-v2` text."""
    text = service().workflows.diagram(name, version)
    if as_json:
        echo_json({"name": name, "version": version, "mermaid": text})
        return
    click.echo(text.rstrip("\n"))
