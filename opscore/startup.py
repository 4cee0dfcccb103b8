"""What the long-running commands share: refusing to start, naming every reason."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from .config import ConfigError
from .definitions import DefinitionError


@contextmanager
def refuse_to_start_on_bad_setup() -> Iterator[None]:
    """Turn invalid definitions or settings into a clear message and exit status 1."""
    try:
        yield
    except DefinitionError as error:
        click.echo("refusing to start: invalid machine definitions", err=True)
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except ConfigError as error:
        click.echo(f"refusing to start: {error}", err=True)
        sys.exit(1)
