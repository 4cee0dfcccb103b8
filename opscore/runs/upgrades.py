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
from ..errors import InvalidRequest, RunNotUpgradable
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
    _check_entered(run, state, steps)
    renamed = state.renamed(lambda path: _renamed(path, steps))
    dest = run.state if run.state in TERMINAL_STATES else steps(run.state)
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


def _check_entered(run: Instance, state: RunState, steps: Renames) -> None:
    """InvalidRequest unless every step the run has entered (the one it is at, or failed at,
    among them) is in the target under its new name, each name once: the run's records
    are read by their steps from then on."""
    entered = {top_level(path) for path in state.steps}
    for name in sorted(entered):
        steps.existing(name)
    steps.distinct(entered, f"run '{run.id}'")
    template = steps.target.workflow
    for path in sorted(state.steps):
        try:
            template.step(_renamed(path, steps))
        except KeyError:
            raise InvalidRequest(
                f"step '{path}', which run '{run.id}' has entered, does not exist in "
                f"'{template.name}' version {template.version}",
                "states",
            ) from None


def _renamed(path: str, steps: Renames) -> str:
    """The path of a step under its top-level step's new name."""
    return with_top_level(path, steps(top_level(path)))
