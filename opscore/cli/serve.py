"""`opscore serve`: start the REST service with gunicorn."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import click

from ..config import Settings
from .startup import refuse_to_start_on_bad_setup


@click.command()
@click.option("--host", help="Listen address (default $OPSCORE_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default $OPSCORE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the REST API; refuses to start on invalid definitions or missing keys."""
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    with refuse_to_start_on_bad_setup():
        settings = Settings.from_env(**overrides)
        shared = share_metrics_between_processes() if settings.web_processes > 1 else None
        # Imported only now: the metrics must know their multiprocess folder first.
        from ..api import create_app
        from ..serve import serve as run_server

        app = create_app(settings)
    try:
        run_server(app, settings)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def share_metrics_between_processes() -> str | None:
    """Give prometheus-client a fresh folder for its per-process files (before it is imported).

    Returns the folder when this call made it (to remove when the server stops).
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    folder = tempfile.mkdtemp(prefix="opscore-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder
