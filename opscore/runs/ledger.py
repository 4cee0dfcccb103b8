"""The one place a run's typed state is read from its instance and committed back.

A change of a run goes through `RunLedger.commit`: the lifecycle re-reads the run under
its lock (a worker's report on the attempt it began, and its begin of a step that a commit
of this process queued, are planned first on the run as this process committed it, and
again on the stored run if that has moved on), a planner turns it (and its `RunState`)
into a `RunPlan`, and the plan is committed with its history record, the work that
follows and, when the run ends, its bound agent's event, in one step. Parsed states are
kept: the latest revision of each of the runs used last, however many commits of other
runs come in between, and the revisions committed last, which a worker may still hold
when another commits, so the hot path never parses its own writes again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import partial
from threading import Lock

from ..definitions.workflow.template import WorkflowTemplate
from ..model import Instance
from ..services.agents import AgentService
from ..services.idempotency import IdempotentRequest
from ..services.lifecycle import Fired, Lifecycle, LinkedEvent, Plan
from ..store.work import WorkItem, WorkKind
from .metrics import observe
from .planner import RunPlan
from .spans import record_spans
from .state import RunState, RunStatus, StepStatus

KIND = "run"
CACHED_RUNS = 1024  # runs whose latest state is kept
CACHED_STATES = 4096  # states of the revisions committed (or read) last

RunPlanner = Callable[[Instance, RunState], RunPlan | None]


def _waits(run: Instance, before: RunState, made: RunPlan) -> tuple[str, ...]:
    """The agents the run waits for after the plan: looked for again only when a step that
    waited, or waits now, changed (a large map changes one step at a time)."""
    waiting = StepStatus.WAITING
    for path in made.changed:
        earlier = before.steps.get(path)
        if made.state.steps[path].status == waiting or (earlier and earlier.status == waiting):
            return made.state.waiting_for()
    return run.waiting_for


def bound_event(run_id: str, agent_id: str, event: str, *, required: bool = False) -> LinkedEvent:
    """A bound agent's event, fired in the run's own commit (data: the run's id)."""
    return LinkedEvent("agent", agent_id, event, {"run_id": run_id}, required=required)


class RunLedger:
    """Reads runs with their typed state and commits the plans made for them."""

    def __init__(self, lifecycle: Lifecycle, agents: AgentService) -> None:
        self.lifecycle = lifecycle
        self.agents = agents
        self._latest: OrderedDict[str, tuple[Instance, RunState]] = OrderedDict()
        self._recent: OrderedDict[tuple[str, int], RunState] = OrderedDict()
        # The revision of the run that each step attempt queued by this process's commits
        # was queued in, by (run, step, attempt): its worker's begin plans on it first.
        self._queued: OrderedDict[tuple[str, str, int], int] = OrderedDict()
        self._lock = Lock()

    def template(self, run: Instance) -> WorkflowTemplate:
        """The template version the run is pinned to."""
        return self.lifecycle.engine.definition(run).workflow

    def get(self, run_id: str) -> Instance:
        """The run (RunNotFound otherwise)."""
        return self.lifecycle.store.get(KIND, run_id)

    def state(self, run: Instance) -> RunState:
        """The run's typed state (parsed once per revision)."""
        with self._lock:
            latest, state = self._latest.get(run.id, (None, None))
            if latest is None or latest.revision != run.revision:
                state = self._recent.get((run.id, run.revision))
        if state is None:
            state = RunState.from_json(run.context)
            self._remember(run, state)
        return state

    def commit(
        self,
        run_id: str,
        planner: RunPlanner,
        idempotency: IdempotentRequest | None = None,
        *,
        guess: bool = False,
        begins: WorkItem | None = None,
        finishes: WorkItem | None = None,
    ) -> Fired | None:
        """Let `planner` decide on the run as it is now and commit its plan (None: no plan).

        With `guess`, the run as this process last committed it is planned on first, without
        reading it (a worker reporting on the attempt it began, which nothing else changed
        in between as a rule); if the store has moved on, it is planned again as it is.
        `begins`: the queued attempt this commit starts; when a commit of this process
        queued it, the run as that commit left it is the guess. `finishes`: the claimed
        item whose processing this commit ends (Plan.finishes).
        """
        planned: list[tuple[RunState, RunPlan]] = []

        def plan(run: Instance) -> Plan | None:
            before = self.state(run)
            made = planner(run, before)
            if made is None:
                return None
            planned[:] = [(before, made)]
            return Plan(
                made.event,
                made.data,
                made.state.to_json(),
                [*made.work, *self._tell_parent(made)],
                notes=made.notes,
                waiting_for=_waits(run, before, made),
                linked=[*made.linked, *self._released(run, made.ends)],
                upgrade=made.upgrade,
                finishes=finishes,
            )

        def committed(fired: Fired) -> None:
            self._remember(fired.instance, planned[0][1].state, planned[0][1].work)

        known = partial(self._known, run_id) if guess else self._known_for(begins)
        fired = self.lifecycle.transact(KIND, run_id, plan, idempotency, committed, known)
        if fired is None:
            return None
        before, made = planned[0]
        observe(fired, before, made.state, made.changed)
        record_spans(fired, before, made.state, made.changed, self.template)
        return self.settled(fired)

    def settled(self, fired: Fired) -> Fired:
        """After a commit: an agent it ended closes its sessions."""
        for linked in fired.linked:
            self.agents.close_sessions_if_ended(linked)
        return fired

    def _tell_parent(self, made: RunPlan) -> tuple[WorkItem, ...]:
        """A child run that ends tells its parent's step, in the commit that ends it."""
        parent = made.state.parent
        if made.ends is None or parent is None:
            return ()
        now = self.lifecycle.clock.now()
        return (WorkItem(WorkKind.CHILD_DONE, parent.run_id, parent.step, parent.attempt, now),)

    def _released(self, run: Instance, ends: RunStatus | None) -> tuple[LinkedEvent, ...]:
        """The bound agent's event for a run that ends (in the same commit as the run)."""
        if ends is None or run.agent_id is None:
            return ()
        binding = self.template(run).agent
        event = {
            RunStatus.SUCCEEDED: binding.on_success,
            RunStatus.FAILED: binding.on_failure,
            RunStatus.CANCELLED: binding.releases_on_cancel,
        }[ends]
        return (bound_event(run.id, run.agent_id, event),) if event else ()

    def _known(self, run_id: str) -> Instance | None:
        """The run at the latest revision this process committed or read, if kept."""
        with self._lock:
            latest = self._latest.get(run_id)
        return latest[0] if latest is not None else None

    def _known_for(self, item: WorkItem | None) -> Callable[[], Instance | None] | None:
        """The guess for beginning `item`: the run at the revision whose commit queued it,
        if this process made that commit and still keeps that revision as the run's latest."""
        if item is None:
            return None
        with self._lock:
            revision = self._queued.pop((item.run_id, item.step, item.attempt), None)
        if revision is None:
            return None

        def known() -> Instance | None:
            latest = self._known(item.run_id)
            return latest if latest is not None and latest.revision == revision else None

        return known

    def _remember(self, run: Instance, state: RunState, queued: Sequence[WorkItem] = ()) -> None:
        """Keep `state` as the run's at its revision (its latest, unless a later one is), and
        that revision as the one its `queued` attempts were queued in."""
        key = (run.id, run.revision)
        with self._lock:
            for item in queued:
                if item.kind == WorkKind.DISPATCH and item.run_id == run.id:
                    self._queued[(run.id, item.step, item.attempt)] = run.revision
                    self._queued.move_to_end((run.id, item.step, item.attempt))
            while len(self._queued) > CACHED_STATES:
                self._queued.popitem(last=False)
            self._recent[key] = state
            self._recent.move_to_end(key)
            while len(self._recent) > CACHED_STATES:
                self._recent.popitem(last=False)
            latest = self._latest.get(run.id)
            if latest is None or latest[0].revision <= run.revision:
                self._latest[run.id] = (run, state)
                self._latest.move_to_end(run.id)
                while len(self._latest) > CACHED_RUNS:
                    self._latest.popitem(last=False)
