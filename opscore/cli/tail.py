"""`opscore tail`: follow the service's live event stream, one line per transition."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict

import click

from ..client import Dropped, Gap, NotFound, Reconnecting, Transition
from ..client.stream import STREAM_PATH, StreamEvent
from .output import clock_time
from .remote import ExitCode, Failure, connection_options, json_option, reports_failures, service

KINDS = ("agent", "session", "run", "step")


def transition_text(transition: Transition) -> str:
    """`12:00:01 agent a1 activate: idle -> active` (the time in UTC).

    A step event reads `12:00:01 run r1 step fetch attempt 2 retrying in 2s: Http.Timeout`.
    """
    when = clock_time(transition.at)
    if transition.kind == "step":
        return f"{when} run {transition.instance_id} {_step_text(transition)}"
    return (
        f"{when} {transition.kind} {transition.instance_id} "
        f"{transition.event}: {transition.source} -> {transition.dest}"
    )


def _step_text(transition: Transition) -> str:
    data = transition.data
    text = f"step {transition.source} attempt {data.get('attempt', '?')} {transition.event}"
    if transition.event == "retrying":
        text += f" in {data.get('retry_in', 0):g}s: {data.get('error', '?')}"
    elif transition.event == "waiting" and data.get("agent_id"):
        text += f" for agent {data['agent_id']}"
    elif transition.event == "sleeping" and data.get("seconds") is not None:
        text += f" for {data['seconds']:g}s"
    return text


@click.command()
@click.option("--agent-id", help="Only transitions whose agent_id is this one.")
@click.option("--run-id", help="Only this run's transitions; ends when the run has.")
@click.option("--machine", help="Only instances of this machine or workflow.")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of instance.")
@click.option("--since", "last_event_id", help="Resume after this event id.")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    help="Stop after this many transitions (default: follow until interrupted).",
)
@json_option
@connection_options(from_env=True)
@reports_failures
def tail(
    agent_id: str | None,
    run_id: str | None,
    machine: str | None,
    kind: str | None,
    last_event_id: str | None,
    count: int | None,
    as_json: bool,
) -> None:
    """Follow transitions live, reconnecting (and resuming) after disconnects.

    Prints one line per transition, or one JSON object per line with --json. Lost
    events and reconnections (after a restart, or while the service is at its limit of
    streams) are reported on stderr; it keeps trying until interrupted. Ctrl-C stops it
    (exit 0). With --run-id it ends when the run has.
    """
    client = service()
    stream = client.events(
        agent_id=agent_id,
        run_id=run_id,
        machine=machine,
        kind=kind,
        last_event_id=last_event_id,
        keep_trying=True,
        on_reconnect=_say_reconnecting,
    )
    try:
        with stream:
            _print_events(stream, count, as_json)
    except KeyboardInterrupt:
        return
    except NotFound as error:
        # Name the URL: a service without the stream answers a generic "not found".
        raise Failure(f"{client.url}{STREAM_PATH}: {error.message}", ExitCode.NOT_FOUND) from error


def _say_reconnecting(attempt: Reconnecting) -> None:
    """On stderr: why the stream is reconnecting, when, and where it resumes."""
    resume = f", resuming after event {attempt.last_event_id}" if attempt.last_event_id else ""
    click.echo(f"tail: {attempt.reason}; reconnecting in {attempt.delay:g}s{resume}", err=True)


def _print_events(stream: Iterable[StreamEvent], count: int | None, as_json: bool) -> None:
    """Print transitions on stdout, lost events and drops on stderr, up to `count` transitions."""
    seen = 0
    for event in stream:
        if isinstance(event, Transition):
            click.echo(json.dumps(asdict(event)) if as_json else transition_text(event))
            seen += 1
            if count is not None and seen >= count:
                return
        elif isinstance(event, Gap):
            click.echo(
                f"tail: events lost: asked for those after {event.requested}, "
                f"the oldest kept is {event.oldest}",
                err=True,
            )
        elif isinstance(event, Dropped):
            click.echo(f"tail: dropped by the server ({event.reason}); resuming", err=True)
