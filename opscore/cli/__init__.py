"""The `opscore` command."""

from __future__ import annotations

import click

from .. import __version__
from .agents import agents
from .db import db
from .keys import keys
from .machines import machines
from .runs import runs
from .serve import serve
from .sessions import sessions
from .tail import tail
from .tasks import tasks
from .worker import worker
from .workflows import workflows


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opscore")
def main() -> None:
    """Ops-Core: run fleets of AI agents as explicit state machines."""


for command in (
    agents,
    db,
    keys,
    machines,
    runs,
    serve,
    sessions,
    tail,
    tasks,
    worker,
    workflows,
):
    main.add_command(command)
