"""The step runner: carries out one work item, a step attempt's handler included.

A task handler runs outside any lock. Whatever it does (returns, raises, returns
garbage, returns something that is not JSON) becomes an outcome of its own attempt
only. A handler that hangs is the worker pool's concern: the runner tells it, through a
`HandlerWatch`, when the handler should be done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from loguru import logger

from ..definitions.workflow.durations import MAX_DURATION
from ..definitions.workflow.refs import PathError, resolve
from ..definitions.workflow.retry import INVALID_OUTPUT, PATH_FAILURE, TASK_FAILED
from ..definitions.workflow.template import StepKind
from ..errors import InvalidRequest
from ..services.validation import (
    MESSAGE_MAX,
    Limits,
    check_capability,
    check_id,
    check_json,
    check_json_object,
)
from ..store.work import WorkItem, WorkKind
from ..tasks import (
    ERROR_NAME,
    ERROR_NAME_MAX,
    AgentPort,
    Offer,
    Sleep,
    Suspend,
    TaskContext,
    TaskError,
    TaskRegistry,
)
from .attempts import Attempts
from .state import StepStatus
from .tasks import TaskService


class HandlerWatch(Protocol):
    """Told when a handler runs and by when (clock time) it should have returned."""

    def running(self, deadline: float | None) -> AbstractContextManager[None]: ...


class _Unwatched:
    @contextmanager
    def running(self, deadline: float | None) -> Iterator[None]:
        yield


UNWATCHED = _Unwatched()


class PushPort(Protocol):
    """Pushes tasks to the agents that registered an endpoint (opscore/push)."""

    def pushes_to(self, agent_id: str) -> bool:
        """Whether the agent's tasks are pushed to it."""
        ...

    def deliver(self, item: WorkItem) -> None:
        """Make one attempt at pushing the task `item` names."""
        ...


class _NoPush:
    def pushes_to(self, agent_id: str) -> bool:
        return False

    def deliver(self, item: WorkItem) -> None:
        return None


NO_PUSH = _NoPush()


class StepRunner:
    """Carries out one work item: dispatch a step attempt, resume, or time something out."""

    def __init__(
        self,
        attempts: Attempts,
        tasks: TaskRegistry,
        agents: AgentPort,
        limits: Limits,
        agent_tasks: TaskService,
        pushes: PushPort = NO_PUSH,
    ) -> None:
        self.attempts = attempts
        self.pushes = pushes
        self.agent_tasks = agent_tasks
        self.ledger = attempts.ledger
        self.tasks = tasks
        self.agents = agents
        self.limits = limits
        self.clock = attempts.ledger.lifecycle.clock

    def process(
        self, item: WorkItem, worker: str | None = None, watch: HandlerWatch = UNWATCHED
    ) -> None:
        """Do what `item` asks (on `worker`); items the run has moved past change nothing."""
        if item.kind == WorkKind.DISPATCH:
            self._dispatch(item, worker, watch)
        elif item.kind == WorkKind.RESUME:
            self.attempts.resume(item)
        elif item.kind == WorkKind.STEP_TIMEOUT:
            self.attempts.time_out(item)
        elif item.kind == WorkKind.RUN_TIMEOUT:
            self.attempts.time_out_run(item.run_id)
        elif item.kind == WorkKind.START_CHILD:
            self.attempts.start_child(item)
        elif item.kind == WorkKind.CHILD_DONE:
            self.attempts.child_done(item)
        elif item.kind == WorkKind.CANCEL_RUN:
            self.attempts.cancel_child(item.run_id)
        elif item.kind == WorkKind.TASK_LEASE:
            self.agent_tasks.lapse(item)
        elif item.kind == WorkKind.PUSH_TASK:
            self.pushes.deliver(item)

    def _dispatch(self, item: WorkItem, worker: str | None, watch: HandlerWatch) -> None:
        if item.redelivered:
            self.attempts.recover(item)
        fired = self.attempts.begin(item, worker)
        record = self.attempts.current(item, fired.instance) if fired else None
        if record is None or record.status != StepStatus.RUNNING:
            return
        run = fired.instance
        template = self.ledger.template(run)
        step = template.step(item.step)
        if step.kind != StepKind.TASK:
            return  # a parallel or map step runs its branches; nothing runs the step itself
        state = self.ledger.state(run)
        try:
            params = resolve(step.params, self.attempts.planner.data(run, state, item.step))
        except PathError as error:
            self.attempts.fail(item, PATH_FAILURE, str(error))
            return
        # The step's timeout timer is due when the attempt started plus the timeout.
        started = record.attempts[-1].started_at
        deadline = started + step.timeout if step.timeout else None
        context = TaskContext(
            params,
            run.id,
            item.step,
            item.attempt,
            state.input,
            run.agent_id,
            None if deadline is None else max(0.0, deadline - self.clock.now()),
            self.agents,
            step.capability,
        )
        with watch.running(deadline):
            result = self._run_handler(step.task, context)
        if deadline is not None and self.clock.now() >= deadline:
            # Too late, whatever the result: the timeout decides, whether or not its timer
            # has been handled yet (it finds the attempt settled if not). The watchdog may
            # have released the item already: its row is not this commit's to delete.
            self.attempts.time_out(item, finishes=False)
            return
        self._settle(item, result)

    def _run_handler(self, task: str, context: TaskContext) -> Any:
        try:
            return self.tasks.get(task).handler(context)
        except TaskError as error:
            return _checked_error(error)
        except BaseException as error:  # a handler's exit or bug fails its step, not the worker
            logger.opt(exception=error).warning(
                "run {run_id} step {step} task {task} raised",
                run_id=context.run_id,
                step=context.step,
                task=task,
            )
            return TaskError(TASK_FAILED, _describe(error))

    def _settle(self, item: WorkItem, result: Any) -> None:
        try:
            outcome = self._outcome(result)
        except InvalidRequest as problem:
            self.attempts.fail(item, INVALID_OUTPUT, problem.message)
            return
        except Exception as error:  # garbage whose inspection itself raises
            self.attempts.fail(item, INVALID_OUTPUT, f"the task returned {_describe(error)}")
            return
        if isinstance(outcome, TaskError):
            self.attempts.fail(item, outcome.name, outcome.message)
        elif isinstance(outcome, Suspend):
            push = self.pushes.pushes_to(outcome.agent_id)
            self.attempts.suspend(item, outcome.agent_id, outcome.request, push)
        elif isinstance(outcome, Offer):
            self.attempts.offer(item, outcome.capability, outcome.request)
        elif isinstance(outcome, Sleep):
            self.attempts.sleep(item, outcome.seconds, outcome.output)
        else:
            self.attempts.succeed(item, outcome)

    def _outcome(self, result: Any) -> Any:
        """The handler's result checked: JSON output, or a well-formed TaskError, Suspend, Sleep.

        Raises InvalidRequest naming what is wrong with it.
        """
        limits = self.limits
        if isinstance(result, TaskError):
            return result
        if isinstance(result, Offer):
            request = check_json_object(result.request, "the task's request to its agent", limits)
            return Offer(check_capability(result.capability), request)
        if isinstance(result, Suspend):
            agent_id = check_id(result.agent_id, "the agent the task hands its step to")
            request = check_json_object(result.request, "the task's request to its agent", limits)
            return Suspend(agent_id, request)
        if isinstance(result, Sleep):
            seconds = result.seconds
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not 0 <= seconds <= MAX_DURATION  # NaN fails this too
            ):
                raise InvalidRequest(
                    f"the task asked to sleep {seconds!r:.40} seconds; it may sleep 0 to "
                    f"{MAX_DURATION:g}"
                )
            return Sleep(float(seconds), check_json(result.output, "the task's output", limits))
        return check_json(result, "the task's output", limits)


def _checked_error(error: TaskError) -> TaskError:
    """The handler's TaskError, if its name is one retriers can match (else TaskFailed)."""
    name, message = error.name, error.message
    if not isinstance(name, str) or len(name) > ERROR_NAME_MAX or not ERROR_NAME.match(name):
        invalid = f"the task raised an error with an invalid name {name!r:.100}"
        return TaskError(TASK_FAILED, invalid)
    text = message if isinstance(message, str) else _safe_str(message)
    return TaskError(name, text[:MESSAGE_MAX])


def _describe(error: BaseException) -> str:
    """`Type: message` of an exception, even one whose `__str__` raises."""
    return f"{type(error).__name__}: {_safe_str(error)}"[:MESSAGE_MAX]


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} that cannot be shown>"
