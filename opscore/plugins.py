"""Plugins: the callbacks and task types installed packages publish (entry points), and
the modules the operator names in `OPSCORE_PLUGINS`, imported once at start.

Only operator configuration names a module here; YAML and requests never do.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from .callbacks import CallbackRegistry
from .config import ConfigError
from .tasks import TaskRegistry


def load_plugins(
    callbacks: CallbackRegistry, tasks: TaskRegistry, modules: Sequence[str] = ()
) -> None:
    """Register every entry-point plugin, then import each module of `modules`.

    A module registers what it offers as it is imported (`@opscore.callbacks.condition()`,
    `@default_tasks.task()`). ConfigError names a module that cannot be imported.
    """
    callbacks.load_entry_points()
    tasks.load_entry_points()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(f"OPSCORE_PLUGINS: cannot import {module!r}: {error}") from None
