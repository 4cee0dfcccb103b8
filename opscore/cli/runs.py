"""`opscore runs`: start, follow, report, cancel, redrive and upgrade workflow runs on a
running service."""

from __future__ import annotations

import functools
from typing import Any

import click

from ..client import Resource
from .listing import (
    every_page_option,
    newest_first,
    page_option,
    page_size_option,
    print_fired,
    print_history,
    since_option,
    upgrade_options,
)
from .output import (
    compact,
    echo_explanation,
    echo_json,
    fields,
    more_pages_hint,
    table,
    transition_line,
    when,
)
from .remote import (
    ExitCode,
    Failure,
    connection_options,
    json_argument,
    json_object,
    json_option,
    reports_failures,
    service,
)


@click.group()
@connection_options(from_env=True)
def runs() -> None:
    """Start, follow, report, cancel, redrive and upgrade workflow runs on a running service."""


@runs.command("list")
@click.option("--workflow", help="Only runs of this workflow.")
@click.option("--state", help="Only runs in this state (a step, succeeded, failed, cancelled).")
@click.option("--agent-id", help="Only runs bound to this agent.")
@page_option
@page_size_option
@every_page_option
@json_option
@connection_options()
@reports_failures
def list_runs(
    workflow: str | None,
    state: str | None,
    agent_id: str | None,
    page: int,
    page_size: int,
    every_page: bool,
    as_json: bool,
) -> None:
    """List runs, newest first, filtered by workflow, state or agent."""
    items, listing = newest_first(
        service().runs.list,
        page=page,
        page_size=page_size,
        every_page=every_page,
        workflow=workflow,
        state=state,
        agent_id=agent_id,
    )
    if as_json:
        echo_json(items)
        return
    click.echo(
        table(
            ("ID", "WORKFLOW", "STATUS", "STEP", "AGENT", "UPDATED"),
            [
                (
                    r["id"],
                    f"{r['workflow']['name']} v{r['workflow']['version']}",
                    r["status"],
                    r["current_step"] or "-",
                    r["agent_id"] or "-",
                    when(r["updated_at"]),
                )
                for r in items
            ],
        )
    )
    more_pages_hint(listing, "runs")


@runs.command()
@click.argument("run_id")
@json_option
@connection_options()
@reports_failures
def show(run_id: str, as_json: bool) -> None:
    """Show one run: state, current step, each step's attempts, output or error."""
    run = service().runs.get(run_id)
    if as_json:
        echo_json(run)
        return
    click.echo(run_summary(run))
    if run["steps"]:
        click.echo()
        click.echo(steps_table(run["steps"]))


def run_summary(run: dict[str, Any]) -> str:
    """A run's identity and outcome as aligned `name  value` lines."""
    pending = run["pending"] or {}
    rows = [
        ("id", run["id"]),
        ("workflow", f"{run['workflow']['name']} v{run['workflow']['version']}"),
        ("status", run["status"]),
        ("state", run["state"]),
        ("current step", _pending(pending) if pending else "-"),
        ("agent", run["agent_id"] or "-"),
        ("input", compact(run["input"]) or "-"),
        ("output", compact(run["output"]) or "-"),
        ("error", _error(run["error"]) or "-"),
        ("created", when(run["created_at"])),
        ("updated", when(run["updated_at"])),
    ]
    return fields(rows)


def _pending(pending: dict[str, Any]) -> str:
    text = f"{pending['step']} (attempt {pending['attempt']}, {pending['status']}"
    if "agent_id" in pending:
        text += f" for agent {pending['agent_id']}"
    if "due" in pending:
        text += f" until {when(pending['due'])}"
    return text + ")"


def _error(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    where = f" (step {error['step']})" if error.get("step") else ""
    return f"{error['name']}: {error['message']}{where}"


def steps_table(steps: list[dict[str, Any]]) -> str:
    """STEP, STATUS, ATTEMPTS, LAST ERROR."""
    return table(
        ("STEP", "STATUS", "ATTEMPTS", "LAST ERROR"),
        [
            (s["name"], s["status"] or "-", len(s["attempts"]), _error(s["error"]) or "-")
            for s in steps
        ],
    )


@runs.command()
@click.argument("workflow")
@click.option(
    "--input", "input_text", help="The run's input: a JSON object (or @file, or - for stdin)."
)
@click.option("--agent-id", help="Bind the run to this agent.")
@click.option(
    "--wait", is_flag=True, help="Wait until the run finishes; exit 7 unless it succeeded."
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="With --wait: seconds to wait before giving up (exit 8).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="With --wait: seconds between polls.",
)
@json_option
@connection_options()
@reports_failures
def start(
    workflow: str,
    input_text: str | None,
    agent_id: str | None,
    wait: bool,
    deadline: float,
    interval: float,
    as_json: bool,
) -> None:
    """Start a run of WORKFLOW; with --wait, follow it to its end."""
    client = service()
    run = client.runs.start(workflow, json_object(input_text, "--input"), agent_id=agent_id)
    if not wait:
        _print(run, as_json, _started(run))
        return
    if not as_json:
        click.echo(_started(run))
    try:
        run = client.runs.wait(run["id"], timeout=deadline, interval=interval)
    except TimeoutError as error:
        raise Failure(str(error), ExitCode.DEADLINE) from None
    _print(run, as_json, _finished(run))
    if run["state"] != "succeeded":
        raise click.exceptions.Exit(ExitCode.RUN_NOT_SUCCEEDED)


def _print(answer: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        echo_json(answer)
    else:
        click.echo(text)


def _started(run: Resource) -> str:
    return (
        f"run {run['id']} started: {run['workflow']['name']} v{run['workflow']['version']}, "
        f"state {run['state']}"
    )


def _finished(run: dict[str, Any]) -> str:
    detail = compact(run["output"]) if run["state"] == "succeeded" else _error(run["error"])
    return f"run {run['id']} {run['state']}" + (f": {detail}" if detail else "")


@runs.command()
@click.argument("run_id")
@json_option
@connection_options()
@reports_failures
def cancel(run_id: str, as_json: bool) -> None:
    """Cancel a run that has not finished (exit 4 if it has)."""
    answer = service().runs.cancel(run_id)
    _print(answer, as_json, transition_line(run_id, answer["transition"]))


@runs.command()
@click.argument("run_id")
@json_option
@connection_options()
@reports_failures
def redrive(run_id: str, as_json: bool) -> None:
    """Restart a failed run at the step that failed (exit 4 unless it failed)."""
    answer = service().runs.redrive(run_id)
    _print(answer, as_json, transition_line(run_id, answer["transition"]))


@runs.command()
@click.argument("run_id")
@upgrade_options("top-level step")
@json_option
@connection_options()
@reports_failures
def upgrade(run_id: str, version: int, states: dict[str, str], as_json: bool) -> None:
    """Move a run none of whose steps runs, or a failed one, to a newer version of its
    workflow (exit 4 while a step runs, 2 when the version or a mapped step is refused)."""
    print_fired(run_id, service().runs.upgrade(run_id, version, states), as_json)


@runs.command()
@click.argument("run_id")
@since_option
@json_option
@connection_options()
@reports_failures
def history(run_id: str, since_seq: int, as_json: bool) -> None:
    """Print a run's transitions (step to step), oldest first."""
    print_history(functools.partial(service().runs.history, run_id), since_seq, as_json)


@runs.command()
@click.argument("run_id")
@json_option
@connection_options()
@reports_failures
def diagram(run_id: str, as_json: bool) -> None:
    """Print the run's workflow as Mermaid `stateDiagram-v2` text, its current state marked."""
    text = service().runs.diagram(run_id)
    _print({"id": run_id, "mermaid": text}, as_json, text.rstrip("\n"))


@runs.command()
@click.argument("run_id")
@click.argument("step")
@click.option("--output", "output_text", help="The step's output: JSON (or @file, or - for stdin).")
@json_option
@connection_options()
@reports_failures
def complete(run_id: str, step: str, output_text: str | None, as_json: bool) -> None:
    """Report STEP of RUN_ID, waiting for a named agent, done (exit 4 unless it waits)."""
    answer = service().runs.complete_step(run_id, step, json_argument(output_text, "--output"))
    _print(answer, as_json, _reported(answer, step, "completed"))


@runs.command()
@click.argument("run_id")
@click.argument("step")
@click.option("--error", required=True, help="The error name retriers and catchers match.")
@click.option("--message", default="", help="What went wrong, for people.")
@json_option
@connection_options()
@reports_failures
def fail(run_id: str, step: str, error: str, message: str, as_json: bool) -> None:
    """Report STEP of RUN_ID, waiting for a named agent, failed (exit 4 unless it waits)."""
    answer = service().runs.fail_step(run_id, step, error, message)
    _print(answer, as_json, _reported(answer, step, f"failed with {error}"))


def _reported(answer: dict[str, Any], step: str, what: str) -> str:
    run = answer["run"]
    return f"run {run['id']} step {step} {what}; run is now {run['state']}"


@runs.command()
@click.argument("run_id")
@json_option
@connection_options()
@reports_failures
def explain(run_id: str, as_json: bool) -> None:
    """Say why a run is not progressing: what each active step waits on."""
    echo_explanation(service().runs.explain(run_id), as_json)
