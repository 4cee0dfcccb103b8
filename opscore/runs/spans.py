"""A run's OpenTelemetry spans, recorded where the run ledger settles a commit: one per step
attempt that the commit ended (`invoke_agent` for work handed to an agent, `execute_tool`
for a task the workers ran) and, when the commit ends the run, the run's own span."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import tracing
from ..definitions.workflow.template import TERMINAL_STATES, WorkflowTemplate
from ..model import Instance
from ..services.lifecycle import Fired
from .state import Attempt, RunState, StepRecord

AGENT_TASK = "agent"


def record_spans(
    fired: Fired,
    before: RunState,
    after: RunState,
    changed: Iterable[str],
    template_of: Callable[[Instance], WorkflowTemplate],
) -> None:
    """Record the spans of the attempts this change ended, and of the run if it ended."""
    if not tracing.enabled():
        return
    run = fired.instance
    template = template_of(run)
    for path in changed:
        earlier = before.steps.get(path)
        record = after.steps[path]
        opened = earlier.open_attempt() if earlier is not None and earlier is not record else None
        ended = record.attempt_numbered(opened.number) if opened is not None else None
        if earlier is not None and ended is not None and ended.ended_at is not None:
            _attempt_span(run.id, run.machine, path, earlier, ended, _task_of(template, path))
    if run.state != fired.previous.state and run.state in TERMINAL_STATES:
        attributes = {
            "opscore.run.id": run.id,
            "opscore.workflow.name": run.machine,
            "opscore.workflow.version": run.version,
            "opscore.run.state": run.state,
            "gen_ai.agent.id": run.agent_id,
        }
        error = after.error.name if after.error is not None and run.state == "failed" else None
        tracing.record_span(
            f"run {run.machine}",
            run.created_at,
            run.updated_at,
            attributes,
            run_id=run.id,
            error=error,
            as_run=True,
        )


def _task_of(template: WorkflowTemplate, path: str) -> str | None:
    try:
        return template.step(path).task
    except KeyError:
        return None


def _attempt_span(
    run_id: str, workflow: str, path: str, earlier: StepRecord, ended: Attempt, task: str | None
) -> None:
    agent = earlier.agent_id
    handed_to_agent = task == AGENT_TASK or agent is not None or earlier.capability is not None
    attributes: dict[str, Any] = {
        "opscore.run.id": run_id,
        "opscore.workflow.name": workflow,
        "opscore.step": path,
        "opscore.attempt": ended.number,
        "opscore.outcome": str(ended.outcome) if ended.outcome else None,
    }
    if handed_to_agent:
        attributes.update(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.id": agent,
                "opscore.capability": earlier.capability,
                "opscore.task.id": earlier.task,
            }
        )
        name = f"invoke_agent {agent or earlier.capability or path}"
    else:
        attributes.update({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": task})
        name = f"execute_tool {task or path}"
    error = ended.error.name if ended.error is not None else None
    tracing.record_span(
        name,
        ended.started_at,
        ended.ended_at or ended.started_at,
        attributes,
        run_id=run_id,
        error=error,
    )
