"""`opscore agents`: register, list, inspect, upgrade and delete the agents of a running
service."""

from __future__ import annotations

import functools

import click

from .listing import (
    event_options,
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
    listed,
    more_pages_hint,
    table,
    when,
)
from .remote import (
    connection_options,
    json_object,
    json_option,
    reports_failures,
    service,
)


@click.group()
@connection_options(from_env=True)
def agents() -> None:
    """Register, list, inspect, upgrade and delete agents on a running service, and fire their
    events."""


@agents.command()
@click.argument("agent_id", required=False)
@click.option("--name", help="A human-readable name.")
@click.option("--machine", help="The agent machine (default: the service's `agent`).")
@click.option(
    "--capability", "capabilities", multiple=True, help="A capability (repeat for several)."
)
@click.option("--metadata", help="A JSON object (or @file, or - for stdin).")
@json_option
@connection_options()
@reports_failures
def register(
    agent_id: str | None,
    name: str | None,
    machine: str | None,
    capabilities: tuple[str, ...],
    metadata: str | None,
    as_json: bool,
) -> None:
    """Register an agent as AGENT_ID (or a generated id); exit 4 if the id is taken."""
    agent = service().agents.register(
        agent_id,
        name=name,
        machine=machine,
        capabilities=capabilities,
        metadata=json_object(metadata, "--metadata") if metadata is not None else None,
    )
    if as_json:
        echo_json(agent)
        return
    click.echo(
        f"agent {agent['id']} registered: {agent['machine']['name']} "
        f"v{agent['machine']['version']}, state {agent['state']}"
    )


@agents.command()
@click.argument("agent_id")
@json_option
@connection_options()
@reports_failures
def delete(agent_id: str, as_json: bool) -> None:
    """Delete an agent with its sessions and history (needs an admin key)."""
    service().agents.delete(agent_id)
    if as_json:
        echo_json({"id": agent_id, "deleted": True})
        return
    click.echo(f"agent {agent_id} deleted")


@agents.command("list")
@click.option("--state", help="Only agents in this state.")
@click.option("--machine", help="Only agents of this machine.")
@click.option("--capability", help="Only agents with this capability.")
@page_option
@page_size_option
@every_page_option
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
    """List agents, newest first, filtered by state, machine or capability."""
    items, listing = newest_first(
        service().agents.list,
        page=page,
        page_size=page_size,
        every_page=every_page,
        state=state,
        machine=machine,
        capability=capability,
    )
    if as_json:
        echo_json(items)
        return
    click.echo(
        table(
            ("ID", "NAME", "STATE", "MACHINE", "CAPABILITIES", "UPDATED"),
            [
                (
                    a["id"],
                    a["name"] or "-",
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
@since_option
@json_option
@connection_options()
@reports_failures
def history(agent_id: str, since_seq: int, as_json: bool) -> None:
    """Print an agent's transitions, oldest first."""
    print_history(functools.partial(service().agents.history, agent_id), since_seq, as_json)


@agents.command("send-event")
@click.argument("agent_id")
@click.argument("event")
@event_options("agent")
@json_option
@connection_options()
@reports_failures
def send_event(
    agent_id: str, event: str, data: str | None, if_match: str | None, as_json: bool
) -> None:
    """Fire EVENT on an agent and print the transition it made."""
    payload = json_object(data, "--data")
    answer = service().agents.send_event(agent_id, event, payload, if_match=if_match)
    print_fired(agent_id, answer, as_json)


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


@agents.command()
@click.argument("agent_id")
@upgrade_options("state")
@json_option
@connection_options()
@reports_failures
def upgrade(agent_id: str, version: int, states: dict[str, str], as_json: bool) -> None:
    """Move an agent to a newer version of its machine and print the move (exit 2 when the
    version or a mapped state is refused)."""
    print_fired(agent_id, service().agents.upgrade(agent_id, version, states), as_json)
