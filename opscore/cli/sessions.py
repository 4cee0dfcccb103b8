"""`opscore sessions`: open, list, drive and read the sessions of an agent on a running service."""

from __future__ import annotations

import functools
from typing import Any

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
)
from .output import (
    compact,
    echo_json,
    fields,
    listed,
    more_pages_hint,
    table,
    when,
)
from .remote import connection_options, json_object, json_option, reports_failures, service


@click.group()
@connection_options(from_env=True)
def sessions() -> None:
    """Open, list, drive and read agent sessions on a running service."""


def _summary(session: dict[str, Any]) -> str:
    return fields(
        [
            ("id", session["id"]),
            ("agent", session["agent_id"]),
            ("machine", f"{session['machine']['name']} v{session['machine']['version']}"),
            ("state", session["state"]),
            ("allowed events", listed(session["allowed_events"])),
            ("metadata", compact(session["metadata"]) or "-"),
            ("created", when(session["created_at"])),
            ("updated", when(session["updated_at"])),
        ]
    )


@sessions.command("open")
@click.argument("agent_id")
@click.option("--machine", help="The session machine (default: the service's `session`).")
@click.option("--metadata", help="A JSON object (or @file, or - for stdin).")
@json_option
@connection_options()
@reports_failures
def open_session(agent_id: str, machine: str | None, metadata: str | None, as_json: bool) -> None:
    """Open a session for AGENT_ID (exit 4 when the agent has ended)."""
    session = service().sessions.open(
        agent_id, machine=machine, metadata=json_object(metadata, "--metadata")
    )
    if as_json:
        echo_json(session)
        return
    click.echo(f"session {session['id']} opened for agent {agent_id}: state {session['state']}")


@sessions.command("list")
@click.argument("agent_id")
@click.option("--state", help="Only sessions in this state.")
@page_option
@page_size_option
@every_page_option
@json_option
@connection_options()
@reports_failures
def list_sessions(
    agent_id: str, state: str | None, page: int, page_size: int, every_page: bool, as_json: bool
) -> None:
    """List AGENT_ID's sessions, newest first."""
    items, listing = newest_first(
        functools.partial(service().sessions.list, agent_id),
        page=page,
        page_size=page_size,
        every_page=every_page,
        state=state,
    )
    if as_json:
        echo_json(items)
        return
    click.echo(
        table(
            ("ID", "STATE", "MACHINE", "CREATED", "UPDATED"),
            [
                (
                    s["id"],
                    s["state"],
                    f"{s['machine']['name']} v{s['machine']['version']}",
                    when(s["created_at"]),
                    when(s["updated_at"]),
                )
                for s in items
            ],
        )
    )
    more_pages_hint(listing, "sessions")


@sessions.command()
@click.argument("session_id")
@json_option
@connection_options()
@reports_failures
def show(session_id: str, as_json: bool) -> None:
    """Show one session: its agent, state and allowed events."""
    session = service().sessions.get(session_id)
    if as_json:
        echo_json(session)
        return
    click.echo(_summary(session))


@sessions.command("send-event")
@click.argument("session_id")
@click.argument("event")
@event_options("session")
@json_option
@connection_options()
@reports_failures
def send_event(
    session_id: str, event: str, data: str | None, if_match: str | None, as_json: bool
) -> None:
    """Fire EVENT on a session and print the transition it made."""
    payload = json_object(data, "--data")
    answer = service().sessions.send_event(session_id, event, payload, if_match=if_match)
    print_fired(session_id, answer, as_json)


@sessions.command()
@click.argument("session_id")
@since_option
@json_option
@connection_options()
@reports_failures
def history(session_id: str, since_seq: int, as_json: bool) -> None:
    """Print a session's transitions, oldest first."""
    print_history(functools.partial(service().sessions.history, session_id), since_seq, as_json)
