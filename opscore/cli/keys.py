"""`opscore keys`: make API keys to configure as digests."""

from __future__ import annotations

import click

from ..apikeys import DEFAULT_SCOPE, SCOPES, new_key
from .output import echo_json
from .remote import json_option


@click.group()
def keys() -> None:
    """Make API keys."""


@keys.command()
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default=DEFAULT_SCOPE,
    show_default=True,
    help=(
        "read: GET only; write: also state-changing POSTs; admin: also reloads and deletes "
        "(the default, as for a key entry without a scope)."
    ),
)
@json_option
def new(scope: str, as_json: bool) -> None:
    """Print a new random key (shown once) and the OPSCORE_API_KEYS entry that accepts it."""
    key, entry = new_key(scope)
    if as_json:
        echo_json({"key": key, "scope": scope, "config": entry})
        return
    click.echo(f"key:    {key}")
    click.echo(f"config: {entry}")
    click.echo(
        "Give the key to its client; put the config entry (a digest, not the key) in "
        "OPSCORE_API_KEYS, comma-separated with the others.",
        err=True,
    )
