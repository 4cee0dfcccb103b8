"""Run gunicorn in this process exactly as the image's entry point does: `opscore serve`.

The settings come from `opscore.gunicorn_conf` and the app from `opscore.wsgi`, the two
modules the image names in `gunicorn --config python:opscore.gunicorn_conf opscore.wsgi:app`.
"""

from __future__ import annotations

from typing import Any

from gunicorn import util
from gunicorn.app.base import Application

GUNICORN_CONFIG = "python:opscore.gunicorn_conf"
WSGI_APP = "opscore.wsgi:app"


class Server(Application):
    """Gunicorn, configured by GUNICORN_CONFIG alone (not by this process's arguments)."""

    def init(self, parser: Any, opts: Any, args: Any) -> None:
        """Gunicorn's hook for command-line options: this server reads none."""

    def load_config(self) -> None:
        """Gunicorn's settings from the config module."""
        self.load_config_from_module_name_or_filename(GUNICORN_CONFIG)

    def load(self) -> Any:
        """The WSGI app (built in the master process: the config preloads it)."""
        return util.import_app(WSGI_APP)


def serve() -> None:
    """Run the server until it is stopped."""
    Server().run()
