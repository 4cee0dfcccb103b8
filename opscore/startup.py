"""What the long-running commands share: refusing to start, naming every reason, and the
garbage collector's settings for a process that serves."""

from __future__ import annotations

import gc
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


def tune_garbage_collector(thresholds: tuple[int, int, int] | None) -> None:
    """Set CPython's cyclic collector for a long-running process (None: leave Python's own).

    What start-up made (modules, definitions, the app) is collected once and frozen out of
    every later scan, and the thresholds are raised: with Python's 700, a run's commits,
    each copying its records' mappings, started a collection every few commits, some
    scanning the whole heap (a quarter of the CPU of a map's items, docs/benchmarks.md).
    Call it before the process forks (the children keep both) or before it starts work.
    """
    if thresholds is None:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
