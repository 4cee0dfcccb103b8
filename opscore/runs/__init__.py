"""Workflow runs: their typed state, the planner that decides each change, the service
callers use, the attempt reports workers send, the dispatcher and the worker pool."""

from .attempts import Attempts
from .dispatcher import StepRunner
from .explain import A2AState, Explainer, Explanation, Reason, run_a2a_state
from .liveness import Sweeper
from .planner import Planner, RunPlan
from .service import RunService
from .state import Attempt, Failure, Outcome, RunState, RunStatus, StepRecord, StepStatus
from .tasks import Task, TaskService, TaskState
from .workers import WorkerPool

__all__ = [
    "A2AState",
    "Attempt",
    "Attempts",
    "Explainer",
    "Explanation",
    "Failure",
    "Outcome",
    "Planner",
    "Reason",
    "RunPlan",
    "RunService",
    "RunState",
    "RunStatus",
    "StepRecord",
    "StepRunner",
    "StepStatus",
    "Sweeper",
    "Task",
    "TaskService",
    "TaskState",
    "WorkerPool",
    "run_a2a_state",
]
