"""`opscore serve`: start the REST service with gunicorn."""

from __future__ import annotations

import os

import click


@click.command()
@click.option("--host", help="Listen address (default $OPSCORE_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default $OPSCORE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the REST API; refuses to start on invalid definitions or missing keys."""
    # The options override the variables gunicorn's config and the app are read from.
    if host is not None:
        os.environ["OPSCORE_HOST"] = host
    if port is not None:
        os.environ["OPSCORE_PORT"] = str(port)
    from ..serve import serve as run_server

    run_server()
