"""`opscore agents`: list and inspect the agents of a running service, fire their events."""

from __future__ import annotations

import functools

import click

from ..client import iterate
from .output import (
    compact,
    echo_explanation,
    echo_json,
    fields,
    listed,
    more_pages_hint,
    table,
    transition_line,
    transitions_table,
    when,
)
from .remote import (
    connection_options,
    json_object,
    json_option,
    reports_failures,
    service,
)

PAGE_SIZE = click.IntRange(1, 500)


@click.group()
@connection_options(from_env=True)
def agents() -> None:
    """List and inspect agents on a running service, and fire their events."""


@agents.command("list")
@click.option("--state", help="Only agents in this state.")
@click.option("--machine", help="Only agents of this machine.")
@click.option("--capability", help="Only agents with this capability.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=PAGE_SIZE, default=50, show_default=True)
@click.option("--all", "every_page", is_flag=True, help="Fetch every page.")
@json_option
@connection_options()
@reports_failures
def list_agents(
    state: str | None,
    machine: str | None,
    capability: str | None,
    page: int,
    page_size: int,
    every_page: bool,
    as_json: bool,
) -> None:
    """List agents, filtered by state, machine or capability."""
    client = service()
    filters = {"state": state, "machine": machine, "capability": capability}
    if every_page:
        items = list(client.agents.iterate(page_size=page_size, **filters))
        listing = None
    else:
        listing = client.agents.list(**filters, page=page, page_size=page_size)
        items = listing.items
    if as_json:
        echo_json(items)
        return
    click.echo(
        table(
            ("ID", "STATE", "MACHINE", "CAPABILITIES", "UPDATED"),
            [
                (
                    a["id"],
                    a["state"],
                    f"{a['machine']['name']} v{a['machine']['version']}",
                    listed(a["capabilities"]),
                    when(a["updated_at"]),
                )
                for a in items
            ],
        )
    )
    more_pages_hint(listing, "agents")


@agents.command()
@click.argument("agent_id")
@json_option
@connection_options()
@reports_failures
def show(agent_id: str, as_json: bool) -> None:
    """Show one agent: state, allowed events, capabilities, metadata."""
    agent = service().agents.get(agent_id)
    if as_json:
        echo_json(agent)
        return
    click.echo(
        fields(
            [
                ("id", agent["id"]),
                ("name", agent["name"] or "-"),
                ("machine", f"{agent['machine']['name']} v{agent['machine']['version']}"),
                ("state", agent["state"]),
                ("allowed events", listed(agent["allowed_events"])),
                ("capabilities", listed(agent["capabilities"])),
                ("metadata", compact(agent["metadata"]) or "-"),
                ("context", compact(agent["context"]) or "-"),
                ("created", when(agent["created_at"])),
                ("updated", when(agent["updated_at"])),
                ("revision", agent["revision"]),
                ("etag", agent.etag or "-"),
            ]
        )
    )


@agents.command()
@click.argument("agent_id")
@click.option(
    "--since-seq", type=click.IntRange(min=0), default=0, help="Only transitions after this one."
)
@json_option
@connection_options()
@reports_failures
def history(agent_id: str, since_seq: int, as_json: bool) -> None:
    """Print an agent's transitions, oldest first."""
    read_page = functools.partial(service().agents.history, agent_id)
    records = list(iterate(read_page, since_seq=since_seq, page_size=500))
    if as_json:
        echo_json(records)
        return
    click.echo(transitions_table(records))


@agents.command("send-event")
@click.argument("agent_id")
@click.argument("event")
@click.option("--data", help="The event's data: a JSON object (or @file, or - for stdin).")
@click.option("--if-match", help="Fire only if the agent's ETag is still this one.")
@json_option
@connection_options()
@reports_failures
def send_event(
    agent_id: str, event: str, data: str | None, if_match: str | None, as_json: bool
) -> None:
    """Fire EVENT on an agent and print the transition it made."""
    payload = json_object(data, "--data")
    answer = service().agents.send_event(agent_id, event, payload, if_match=if_match)
    if as_json:
        echo_json(answer)
        return
    click.echo(transition_line(agent_id, answer["transition"]))


@agents.command()
@click.argument("agent_id")
@json_option
@connection_options()
@reports_failures
def heartbeat(agent_id: str, as_json: bool) -> None:
    """Tell the service an agent is alive (exit 4 once it is final)."""
    beat = service().agents.heartbeat(agent_id)
    if as_json:
        echo_json(beat)
        return
    missed = f"; silence is a miss at {when(beat['missed_at'])}" if beat["missed_at"] else ""
    click.echo(f"agent {agent_id} seen at {when(beat['last_seen'])}{missed}")


@agents.command()
@click.argument("agent_id")
@json_option
@connection_options()
@reports_failures
def explain(agent_id: str, as_json: bool) -> None:
    """Say why an agent is where it is: tasks held and offered, its heartbeat."""
    echo_explanation(service().agents.explain(agent_id), as_json)
