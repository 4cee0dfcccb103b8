"""The task types that ship with Ops-Core: noop, log, wait, agent_event, agent (and http)."""

from __future__ import annotations

from typing import Any

from loguru import logger

from ..definitions.workflow.durations import parse_duration
from ..errors import OpsCoreError
from . import AgentPort, Offer, Sleep, Suspend, TaskContext, TaskError, TaskRegistry
from .http import http_task

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def noop(ctx: TaskContext) -> Any:
    """Do nothing; the output is the step's parameters (handy to shape data)."""
    return dict(ctx.params)


def log(ctx: TaskContext) -> Any:
    """Write `message` to the log at `level` (default INFO), bound to the run."""
    level = str(ctx.params.get("level", "INFO")).upper()
    if level not in LOG_LEVELS:
        raise TaskError("Task.InvalidParameters", f"level must be one of {', '.join(LOG_LEVELS)}")
    message = str(ctx.params.get("message", ""))
    logger.log(
        level, "run {run_id} step {step}: {text}", run_id=ctx.run_id, step=ctx.step, text=message
    )
    return {"logged": message}


def wait(ctx: TaskContext) -> Any:
    """Finish after `duration` (such as `30s`) without holding a worker."""
    try:
        return Sleep(parse_duration(ctx.params.get("duration")), output={})
    except ValueError as error:
        raise TaskError("Task.InvalidParameters", str(error)) from None


def _agent_id(ctx: TaskContext) -> str:
    agent_id = ctx.params.get("agent", ctx.agent_id)
    if not isinstance(agent_id, str) or not agent_id:
        raise TaskError("Task.InvalidParameters", "no agent: bind the run to one or set `agent`")
    return agent_id


def _agents(ctx: TaskContext) -> AgentPort:
    if ctx.agents is None:
        raise TaskError("Task.NoAgents", "this task needs the agents service, which is not given")
    return ctx.agents


def agent_event(ctx: TaskContext) -> Any:
    """Fire `event` (with `data`) on an agent's lifecycle machine (default: the run's agent)."""
    agent_id = _agent_id(ctx)
    data = ctx.params.get("data", {})
    try:
        fired = _agents(ctx).fire_event(agent_id, ctx.params["event"], data)
    except OpsCoreError as error:
        raise TaskError(f"Agent.{type(error).__name__}", error.message) from None
    return {"agent_id": agent_id, "state": fired.instance.state, "seq": fired.record.seq}


def agent(ctx: TaskContext) -> Any:
    """Hand the step to an agent (the run's, `agent`, or any with the step's `capability`);
    it reports completion with the output (or a failure)."""
    if ctx.capability is not None:
        return Offer(ctx.capability, dict(ctx.params))
    agent_id = _agent_id(ctx)
    try:
        _agents(ctx).get(agent_id)
    except OpsCoreError as error:
        raise TaskError("Agent.NotFound", error.message) from None
    request = {k: v for k, v in ctx.params.items() if k != "agent"}
    return Suspend(agent_id, request)


def builtin_tasks() -> TaskRegistry:
    """A registry holding every built-in task type."""
    registry = TaskRegistry()
    registry.task("noop")(noop)
    registry.task("log", requires=("message",))(log)
    registry.task("wait", requires=("duration",))(wait)
    registry.task("agent_event", requires=("event",))(agent_event)
    registry.task("agent")(agent)
    registry.task("http", requires=("url",))(http_task)
    return registry


default_tasks = builtin_tasks()
"""The process-wide task registry the application uses unless given another."""

task = default_tasks.task
