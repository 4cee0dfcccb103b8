"""`opscore tasks`: list, claim and report tasks (steps waiting for an agent or an answer)."""

from __future__ import annotations

from typing import Any

import click

from .output import compact, echo_json, table, when
from .remote import (
    ExitCode,
    Failure,
    connection_options,
    json_argument,
    json_option,
    reports_failures,
    service,
)

STATES = ("submitted", "working", "input-required")


@click.group()
@connection_options(from_env=True)
def tasks() -> None:
    """List, claim and report tasks on a running service."""


@tasks.command("list")
@click.option("--capability", help="Only tasks for agents with this capability.")
@click.option("--state", type=click.Choice(STATES), help="Only tasks in this state.")
@click.option("--agent-id", help="Only tasks for (or held by) this agent.")
@json_option
@connection_options()
@reports_failures
def list_tasks(
    capability: str | None, state: str | None, agent_id: str | None, as_json: bool
) -> None:
    """List waiting tasks."""
    items = service().tasks.list(capability=capability, state=state, agent_id=agent_id)
    if as_json:
        echo_json(items)
        return
    rows = [
        (
            t["id"],
            t["run_id"],
            t["step"],
            t["state"],
            t["capability"] or "-",
            t["agent_id"] or "-",
            when(t["waiting_since"]),
        )
        for t in items
    ]
    click.echo(table(("ID", "RUN", "STEP", "STATE", "CAPABILITY", "AGENT", "WAITING SINCE"), rows))


@tasks.command()
@click.option("--agent-id", required=True, help="The agent that takes the task.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 20),
    default=0.0,
    show_default=True,
    help="Seconds to wait for a task (at most 20).",
)
@json_option
@connection_options()
@reports_failures
def claim(agent_id: str, wait: float, as_json: bool) -> None:
    """Claim a task for an agent; exit 3 when none came within --wait."""
    task = service().tasks.claim(agent_id, wait=wait)
    if task is None:
        raise Failure(f"no task for agent {agent_id}", ExitCode.NOT_FOUND)
    if as_json:
        echo_json(task)
        return
    click.echo(
        f"claimed task {task['id']} (run {task['run_id']}, step {task['step']}) "
        f"until {when(task['lease_expires_at'])}\n"
        f"lease token: {task['lease_token']}\nparams: {compact(task['params'])}"
    )


@tasks.command()
@click.argument("task_id")
@click.option("--lease-token", help="The token the claim answered (not for input tasks).")
@click.option("--output", "output_text", help="The output: JSON (or @file, or - for stdin).")
@json_option
@connection_options()
@reports_failures
def complete(task_id: str, lease_token: str | None, output_text: str | None, as_json: bool) -> None:
    """Report a task done (exit 4 when the lease was lost)."""
    output = json_argument(output_text, "--output") if output_text else None
    _report(service().tasks.complete(task_id, output, lease_token=lease_token), as_json, task_id)


@tasks.command()
@click.argument("task_id")
@click.option("--error", required=True, help="The error name, e.g. Agent.ModelDown.")
@click.option("--message", default="", help="What went wrong.")
@click.option("--lease-token", help="The token the claim answered (not for input tasks).")
@json_option
@connection_options()
@reports_failures
def fail(task_id: str, error: str, message: str, lease_token: str | None, as_json: bool) -> None:
    """Report a task failed; its step's retriers and catchers decide what follows."""
    answer = service().tasks.fail(task_id, error, message, lease_token=lease_token)
    _report(answer, as_json, task_id)


def _report(answer: dict[str, Any], as_json: bool, task_id: str) -> None:
    if as_json:
        echo_json(answer)
        return
    run = answer["run"]
    click.echo(f"task {task_id} reported: run {run['id']} is {run['status']} ({run['state']})")
