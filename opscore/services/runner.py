"""Workers: take work items from the queue and carry them out.

A task handler runs outside any lock. Whatever it does (returns, raises, returns
garbage) becomes an outcome of its own attempt only; the worker goes on.
"""

from __future__ import annotations

import json
import time
from typing import Any

from loguru import logger

from ..queue.base import DISPATCH, RESUME, RUN_TIMEOUT, STEP_TIMEOUT, WorkItem
from ..tasks import Sleep, Suspend, TaskContext, TaskError, TaskRegistry
from ..workflows import rundata
from ..workflows.paths import PathError, resolve
from ..workflows.retry import INVALID_OUTPUT, PATH_FAILURE, TASK_FAILED
from .runs import RunService
from .validation import MAX_JSON_BYTES


class StepRunner:
    """Carries out one work item: dispatch a step attempt, resume, or time something out."""

    def __init__(self, runs: RunService, tasks: TaskRegistry, services: Any = None) -> None:
        self.runs = runs
        self.tasks = tasks
        self.services = services

    def process(self, item: WorkItem, worker: str | None = None) -> None:
        """Do what `item` asks (on `worker`); items the run has moved past change nothing."""
        if item.kind == DISPATCH:
            self._dispatch(item, worker)
        elif item.kind == RESUME:
            self.runs.resume(item)
        elif item.kind == STEP_TIMEOUT:
            self.runs.time_out_attempt(item)
        elif item.kind == RUN_TIMEOUT:
            self.runs.time_out_run(item.run_id)

    def _dispatch(self, item: WorkItem, worker: str | None) -> None:
        if item.redelivered:
            self.runs.recover_attempt(item)
        fired = self.runs.begin_attempt(item, worker)
        pending = fired.instance.context.get("pending") if fired else None
        if not pending or pending["status"] != "running":
            return
        run = fired.instance
        template = self.runs.template(run)
        step = template.step(item.step)
        try:
            params = resolve(step.params, rundata.view(run.id, run.agent_id, template, run.context))
        except PathError as error:
            self.runs.fail_attempt(item, PATH_FAILURE, str(error))
            return
        deadline = time.time() + step.timeout if step.timeout else None
        context = TaskContext(
            params,
            run.id,
            step.name,
            item.attempt,
            run.context["input"],
            run.agent_id,
            deadline,
            self.services,
        )
        self._settle(item, self._run_handler(step.task, context))

    def _run_handler(self, task: str, context: TaskContext) -> Any:
        try:
            return self.tasks.get(task).handler(context)
        except TaskError as error:
            return error
        except Exception as error:
            logger.opt(exception=error).warning(
                "run {run_id} step {step} task {task} raised",
                run_id=context.run_id,
                step=context.step,
                task=task,
            )
            return TaskError(TASK_FAILED, f"{type(error).__name__}: {error}")

    def _settle(self, item: WorkItem, result: Any) -> None:
        if isinstance(result, TaskError):
            self.runs.fail_attempt(item, result.name, result.message)
        elif isinstance(result, Suspend):
            self.runs.suspend_attempt(item, result.agent_id, result.request)
        elif isinstance(result, Sleep):
            self.runs.sleep_attempt(item, result.seconds, result.output)
        else:
            problem = _output_problem(result)
            if problem:
                self.runs.fail_attempt(item, INVALID_OUTPUT, problem)
            else:
                self.runs.succeed_attempt(item, result)


def _output_problem(output: Any) -> str | None:
    try:
        size = len(json.dumps(output, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as error:
        return f"the task returned something that is not JSON: {type(error).__name__}: {error}"
    if size > MAX_JSON_BYTES:
        return f"the task's output is {size} bytes; the limit is {MAX_JSON_BYTES}"
    return None
