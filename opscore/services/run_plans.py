"""What each event in a run's life commits: the next state, the run data, the work that follows.

These are plans, computed from the run as it is now; `RunService` commits them under
the run's lock. Nothing here reads or writes the store.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from ..clock import Clock
from ..definitions.workflow.choice import choose
from ..definitions.workflow.retry import decide
from ..definitions.workflow.template import FAILED, Step, WorkflowTemplate
from ..errors import EventNotAllowed
from ..model import Instance
from ..store.work import WorkItem, WorkKind
from . import rundata
from .lifecycle import Plan

IN_PROGRESS = ("running", "waiting", "sleeping")


def item(kind: str, run_id: str, pending: Mapping[str, Any], due: float) -> WorkItem:
    """Work for the pending attempt of a run."""
    return WorkItem(kind, run_id, pending["step"], pending["attempt"], due)


class RunPlans:
    """Plans for a run's events, given how to find its template, the clock and a random source."""

    def __init__(
        self,
        template: Callable[[Instance], WorkflowTemplate],
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.template = template
        self.clock = clock
        self.rng = rng

    def begin(self, run: Instance, pending: dict, worker: str | None = None) -> Plan:
        """Start the pending attempt: a task runs, a choice chooses, a wait waits."""
        step = self.template(run).step(pending["step"])
        now = self.clock.now()
        if step.kind == "choice":
            return self.chosen(run, step)
        if step.kind == "wait":
            context = rundata.start_attempt(
                run.context, now, worker, status="sleeping", result=None
            )
            work = [item(WorkKind.RESUME, run.id, pending, now + step.wait)]
            return Plan(None, {}, context, work, note=_note(pending, "sleeping"))
        context = rundata.start_attempt(run.context, now, worker, status="running")
        timer = (
            [item(WorkKind.STEP_TIMEOUT, run.id, pending, now + step.timeout)]
            if step.timeout
            else []
        )
        return Plan(None, {}, context, timer, note=_note(pending, "running", worker=worker))

    def waiting(
        self, run: Instance, pending: dict, agent_id: str, request: Mapping[str, Any]
    ) -> Plan:
        """The running attempt now waits for an agent's report."""
        pending = {**pending, "status": "waiting", "agent_id": agent_id, "request": dict(request)}
        record = {**rundata.step_record(run.context, pending["step"]), "status": "waiting"}
        context = {**rundata.with_step(run.context, pending["step"], record), "pending": pending}
        note = _note(pending, "waiting", agent_id=agent_id)
        return Plan(None, {}, context, note=note, waiting_for=agent_id)

    def sleeping(self, run: Instance, pending: dict, seconds: float, output: Any) -> Plan:
        """The running attempt finishes with `output` after `seconds`."""
        pending = {**pending, "status": "sleeping", "result": output}
        work = [item(WorkKind.RESUME, run.id, pending, self.clock.now() + seconds)]
        note = _note(pending, "sleeping", seconds=seconds)
        return Plan(None, {}, {**run.context, "pending": pending}, work, note=note)

    def succeeded(self, run: Instance, pending: dict, output: Any) -> Plan:
        """The attempt succeeded: move on to the step's `next`."""
        step = self.template(run).step(pending["step"])
        context = rundata.finish_attempt(run.context, self.clock.now(), "succeeded", output=output)
        return self._go(run, context, "succeed", step.next, output)

    def failed(self, run: Instance, pending: dict, error: str, message: str) -> Plan:
        """The attempt failed: retry it, catch the error, or fail the run (in that order)."""
        now = self.clock.now()
        name = pending["step"]
        step = self.template(run).step(name)
        retries = list(run.context["steps"][name].get("retries") or [0] * len(step.retry))
        decision = decide(error, step.retry, step.catch, dict(enumerate(retries)), self.rng)
        failure = {"name": error, "message": message[:2000]}
        if decision.retrier is not None:
            retries[decision.retrier] += 1
            return self._retry(run, pending, failure, retries, decision.delay, now)
        context = rundata.finish_attempt(run.context, now, "failed", error=failure)
        context = {**context, "error": {**failure, "step": name}}
        if decision.catch is not None:
            return self._go(
                run,
                context,
                f"catch_{decision.catch}",
                decision.catch,
                None,
                {"step": name, "error": error},
            )
        return Plan("fail", {"step": name, "error": error}, {**context, "pending": None})

    def _retry(
        self,
        run: Instance,
        pending: dict,
        failure: dict,
        retries: list[int],
        delay: float,
        now: float,
    ) -> Plan:
        name = pending["step"]
        context = rundata.finish_attempt(run.context, now, "failed", error=failure, retry_in=delay)
        record = {**rundata.step_record(context, name), "status": "retrying", "retries": retries}
        again = {
            "step": name,
            "attempt": pending["attempt"] + 1,
            "status": "retrying",
            "due": now + delay,
        }
        context = {**rundata.with_step(context, name, record), "pending": again}
        note = _note(
            pending, "retrying", error=failure["name"], message=failure["message"], retry_in=delay
        )
        return Plan(
            None, {}, context, [item(WorkKind.DISPATCH, run.id, again, again["due"])], note=note
        )

    def chosen(self, run: Instance, step: Step) -> Plan:
        """A choice step picks the `next` of its first rule that holds, else its default."""
        now = self.clock.now()
        data = rundata.view(run.id, run.agent_id, self.template(run), run.context)
        dest = choose(list(step.choice), step.default, data)
        context = rundata.start_attempt(run.context, now)
        if dest is None:
            failure = {"name": "States.NoChoiceMatched", "message": "no rule held and no default"}
            context = rundata.finish_attempt(context, now, "failed", error=failure)
            return Plan(
                "fail",
                {"step": step.name, "error": failure["name"]},
                {**context, "error": {**failure, "step": step.name}, "pending": None},
            )
        context = rundata.finish_attempt(context, now, "succeeded", output={"next": dest})
        return self._go(run, context, f"choose_{dest}", dest, None)

    def cancelled(self, run: Instance) -> Plan:
        """Stop the run; an attempt in progress is recorded as cancelled."""
        context = dict(run.context)
        if context.get("pending") and context["pending"]["status"] in IN_PROGRESS:
            context = rundata.finish_attempt(context, self.clock.now(), "cancelled")
        return Plan("cancel", {}, {**context, "pending": None})

    def redriven(self, run: Instance, allowed: tuple[str, ...]) -> Plan:
        """Restart a failed run at the step that failed; earlier outputs stay."""
        step = (run.context.get("error") or {}).get("step")
        if run.state != FAILED or step not in self.template(run).steps:
            raise EventNotAllowed(f"redrive_{step or '?'}", run.state, allowed)
        context = {key: value for key, value in run.context.items() if key != "error"}
        context, work = rundata.enter(context, run.id, step, None, self.clock.now())
        return Plan(f"redrive_{step}", {}, context, [work])

    def run_failed(self, run: Instance, error: str, message: str) -> Plan:
        """Fail the whole run (its timeout, or its agent refused to start)."""
        context = dict(run.context)
        step = (context.get("pending") or {}).get("step", run.state)
        if context.get("pending") and context["pending"]["status"] in IN_PROGRESS:
            context = rundata.finish_attempt(
                context, self.clock.now(), "failed", error={"name": error, "message": message}
            )
        failure = {"name": error, "message": message, "step": step}
        return Plan(
            "fail", {"step": step, "error": error}, {**context, "error": failure, "pending": None}
        )

    def _go(
        self,
        run: Instance,
        context: dict,
        event: str,
        dest: str,
        output: Any,
        data: Mapping[str, Any] | None = None,
    ) -> Plan:
        """Fire `event` into `dest`: a step (queued), `succeeded` or `failed`."""
        data = data or {"step": context["pending"]["step"]}
        if dest == FAILED:
            return Plan(event, data, {**context, "pending": None})
        context, work = rundata.enter(context, run.id, dest, output, self.clock.now())
        return Plan(event, data, context, [work] if work else [])


def _note(pending: Mapping[str, Any], status: str, **details: Any) -> dict[str, Any]:
    """What changed in the pending attempt, for live streams and logs."""
    note = {"step": pending["step"], "attempt": pending["attempt"], "status": status}
    note.update((key, value) for key, value in details.items() if value is not None)
    return note
