"""`opscore serve`: start the REST service with gunicorn."""

from __future__ import annotations

import click

from ..config import Settings
from .startup import refuse_to_start_on_bad_setup


@click.command()
@click.option("--host", help="Listen address (default $OPSCORE_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default $OPSCORE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the REST API; refuses to start on invalid definitions or missing keys."""
    from ..api import create_app
    from ..serve import serve as run_server

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    with refuse_to_start_on_bad_setup():
        settings = Settings.from_env(**overrides)
        app = create_app(settings)
    run_server(app, settings)
