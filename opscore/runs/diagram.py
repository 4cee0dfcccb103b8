"""A run drawn on the workflow version it is pinned to: where it is and where it has been."""

from __future__ import annotations

from collections.abc import Iterable

from ..model import Instance, TransitionRecord
from .state import RunState


def run_path(
    run: Instance, state: RunState, history: Iterable[TransitionRecord]
) -> tuple[list[str], str | None]:
    """The states a run has been in, in order of first visit, and the step that failed.

    The history is capped, so the steps recorded in the run's state (every step it
    entered) complete what older, dropped records no longer show.
    """
    visited: dict[str, None] = {}
    for record in history:
        visited.update(dict.fromkeys((record.source, record.dest)))
    visited.update(dict.fromkeys(state.steps))
    visited.pop(run.state, None)
    return list(visited), state.error.step if state.error else None
