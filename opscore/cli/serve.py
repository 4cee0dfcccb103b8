"""`opscore serve`: start the REST service with gunicorn."""

from __future__ import annotations

import sys

import click

from ..config import ConfigError, Settings
from ..definitions import DefinitionError


@click.command()
@click.option("--host", help="Listen address (default $OPSCORE_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default $OPSCORE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the REST API; refuses to start on invalid definitions or missing keys."""
    from ..api import create_app
    from ..serve import serve as run_server

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    try:
        settings = Settings.from_env(**overrides)
        app = create_app(settings)
    except DefinitionError as error:
        click.echo("refusing to start: invalid machine definitions", err=True)
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except ConfigError as error:
        click.echo(f"refusing to start: {error}", err=True)
        sys.exit(1)
    run_server(app, settings)
