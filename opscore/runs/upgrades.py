"""Moving a run to a newer version of its workflow while none of its steps runs: its steps'
records renamed per the upgrade's map, a queued attempt queued again under its step's new
name, the move in its history as `(upgrade)`. From then on its steps come from the new
version (docs/workflows.md, "Upgrading a run", has the table of which runs may move).

The version and the map are checked as an agent's are (services/upgrades.py); what is a
run's own is which runs may move, and what moving does to the steps it has entered.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..definitions import DefinitionRegistry
from ..definitions.workflow.template import FAILED, TERMINAL_STATES
from ..errors import RunNotUpgradable
from ..model import Instance
from ..services.upgrades import Renames, upgrade_target
from ..store.work import WorkKind
from .paths import top_level, with_top_level
from .planner import RunPlan, work_for
from .state import STARTABLE, RunState, StepRecord, StepStatus

UPGRADABLE = (
    "a run is upgraded while its step is queued, retrying, waiting or sleeping, or once it "
    "has failed"
)


def upgraded(
    run: Instance,
    state: RunState,
    definitions: DefinitionRegistry,
    version: int,
    states: Mapping[str, str],
    now: float,
) -> RunPlan:
    """The plan that moves `run` to `version` of its workflow, its steps renamed per
    `states`: MachineNotFound, InvalidRequest or RunNotUpgradable (and nothing changes)
    when it may not move."""
    target = upgrade_target(definitions, run, version)
    steps = Renames.checked(states, target, target.workflow.steps, "step")
    current = _current_step(run, state, steps)
    dest = _state_in_target(run, state, steps)
    steps.distinct({top_level(path) for path in state.steps}, f"run '{run.id}'")
    renamed = state.renamed(lambda path: with_top_level(path, steps(top_level(path))))
    plan = RunPlan(renamed, upgrade=(version, dest))
    if current is not None and current.status in STARTABLE and dest != run.state:
        # Its queued work names the old step, so it would find nothing to start.
        plan.work.append(work_for(WorkKind.DISPATCH, run, dest, current, current.due or now))
    return plan


def _current_step(run: Instance, state: RunState, steps: Renames) -> StepRecord | None:
    """The record of the step the run is at (None once it has failed), if the run may move
    (RunNotUpgradable otherwise)."""
    if run.state == FAILED:
        return None
    if run.state in TERMINAL_STATES:
        raise RunNotUpgradable(run.id, f"it has ended ({run.state}); {UPGRADABLE}")
    record = state.steps[run.state]
    if record.status == StepStatus.RUNNING:
        raise RunNotUpgradable(run.id, f"step '{run.state}' is running; {UPGRADABLE}")
    if record.in_progress and (steps(run.state) != run.state or run.state not in steps.names):
        # Its task, lease, timers and child run are keyed by the step's name.
        raise RunNotUpgradable(
            run.id,
            f"step '{run.state}' is {record.status}, and an attempt in progress keeps its "
            f"step: upgrade to a version with a step '{run.state}', not renamed, or once "
            "the attempt has ended",
        )
    return record


def _state_in_target(run: Instance, state: RunState, steps: Renames) -> str:
    """The run's state in the target: its step's new name; `failed` stays `failed`, once
    the step it failed at (where a redrive restarts) is in the target too."""
    if run.state not in TERMINAL_STATES:
        return steps.existing(run.state)
    failed_at = state.error.step if state.error is not None else None
    if failed_at is not None:
        steps.existing(top_level(failed_at))
    return run.state
