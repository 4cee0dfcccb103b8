"""Lists as the commands print them (newest first, a page at a time or every page), and the
options and answers several commands share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from ..client import Page, iterate
from .output import echo_json, transition_line, transitions_table

page_option = click.option(
    "--page",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Which page, counting from the newest.",
)
page_size_option = click.option(
    "--page-size", type=click.IntRange(1, 500), default=50, show_default=True
)
every_page_option = click.option("--all", "every_page", is_flag=True, help="Fetch every page.")


def newest_first(
    list_page: Callable[..., Page],
    *,
    page: int,
    page_size: int,
    every_page: bool,
    **filters: Any,
) -> tuple[list[dict[str, Any]], Page | None]:
    """The items of page `page` counted from the newest (or of every page), newest first.

    The API lists oldest first; page 1 here is the API's last page (which may be short),
    reversed. The Page returned is renumbered to match, None with `every_page`.
    """
    if every_page:
        items = list(iterate(list_page, page_size=page_size, **filters))
        return items[::-1], None
    first = list_page(**filters, page=1, page_size=page_size)
    pages = max(first.total_pages, 1)
    wanted = pages - page + 1
    if wanted < 1:
        return [], replace(first, items=[], page=page)
    listing = first if wanted == 1 else list_page(**filters, page=wanted, page_size=page_size)
    return listing.items[::-1], replace(listing, page=page)


since_option = click.option(
    "--since",
    "since_seq",
    type=click.IntRange(min=0),
    default=0,
    help="Only transitions after this sequence number.",
)


def event_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--data` and `--if-match` of a `send-event` command on `what` (agent, session)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        data = click.option(
            "--data", help="The event's data: a JSON object (or @file, or - for stdin)."
        )
        if_match = click.option(
            "--if-match", help=f"Fire only if the {what}'s ETag is still this one."
        )
        return data(if_match(command))

    return decorate


def upgrade_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--version` and `--state OLD=NEW` (repeated; `states`, a dict) of an `upgrade`
    command, whose renamed names are `what`s (states, or a run's steps)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        version = click.option(
            "--version",
            type=click.IntRange(min=1),
            required=True,
            help="The newer version to move to.",
        )
        states = click.option(
            "--state",
            "states",
            multiple=True,
            callback=_renames,
            metavar="OLD=NEW",
            help=f"A {what} the new version renamed (repeat for several).",
        )
        return version(states(command))

    return decorate


def _renames(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    """`OLD=NEW` pairs as a dict (a usage error for anything else)."""
    renames = {}
    for value in values:
        old, equals, new = value.partition("=")
        if not (old and equals and new):
            raise click.BadParameter(f"{value!r} is not OLD=NEW", ctx, param)
        renames[old] = new
    return renames


def print_history(read_page: Callable[..., Page], since_seq: int, as_json: bool) -> None:
    """Every transition after `since_seq`, oldest first: a table, or JSON."""
    records = list(iterate(read_page, since_seq=since_seq, page_size=500))
    if as_json:
        echo_json(records)
        return
    click.echo(transitions_table(records))


def print_fired(instance_id: str, answer: dict[str, Any], as_json: bool) -> None:
    """The answer to a fired event: its transition line, or the JSON."""
    if as_json:
        echo_json(answer)
        return
    click.echo(transition_line(instance_id, answer["transition"]))
