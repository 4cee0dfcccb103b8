"""`/v1/runs`: inspect, cancel, redrive and upgrade runs; agents pick up and report their
steps."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from ...model import Query
from ...services.lifecycle import Fired
from .. import presenters
from ..http import core, json_response, offset_limit, text_response
from ..idempotency import idempotency_for, idempotent
from ..schemas import ExplanationSchema, HistoryQuerySchema, TransitionSchema, UpgradeSchema
from ..smorest import Blueprint
from ..workflow_schemas import (
    AgentTaskSchema,
    RunQuerySchema,
    RunSchema,
    RunTransitionSchema,
    StepCompleteSchema,
    StepFailSchema,
)
from ._docs import ETAG, IDEMPOTENCY_KEY, MERMAID_TEXT, WITH_BODY, errors
from .workflows import present_run

blp = Blueprint(
    "runs",
    __name__,
    url_prefix="/v1",
    description="Workflow runs: progress, history, cancel, redrive, upgrade, agent steps.",
)


def _changed(fired: Fired) -> tuple[int, dict[str, Any], dict[str, str]]:
    transition = presenters.transition(fired.record) if fired.record else None
    return (
        200,
        {"run": present_run(fired.instance), "transition": transition},
        {"ETag": fired.instance.etag},
    )


def changed_run(fired: Fired) -> Any:
    """The answer to a change of a run: the run and the transition it fired, if any."""
    status, payload, headers = _changed(fired)
    return json_response(payload, status, headers)


@blp.route("/runs")
class Runs(MethodView):
    @blp.arguments(RunQuerySchema, location="query")
    @blp.response(200, RunSchema(many=True))
    @blp.paginate()
    @errors(blp)
    def get(self, filters: dict, pagination_parameters: Any) -> list[dict]:
        """List runs, filtered by workflow, state or agent

        Oldest first, paged. `state` is a step name or `succeeded`, `failed`,
        `cancelled`; `agent_id` the agent a run is bound to.
        """
        offset, limit = offset_limit(pagination_parameters)
        query = Query(
            machine=filters.get("workflow"),
            state=filters.get("state"),
            agent_id=filters.get("agent_id"),
            offset=offset,
            limit=limit,
        )
        page = core().runs.list(query)
        pagination_parameters.item_count = page.total
        return [present_run(run) for run in page.items]


@blp.route("/runs/<id:run_id>")
class Run(MethodView):
    @blp.response(200, RunSchema, headers=ETAG)
    @blp.alt_response(304, description="Not modified (If-None-Match matched).")
    @errors(blp, 404)
    def get(self, run_id: str) -> Any:
        """Get a run: state, current step, steps with attempts, input, output, error

        The run's typed state: each step's status and attempts (with errors and times),
        what it waits for now (`pending`), and its output or error once it has finished.
        `ETag` as for agents.
        """
        run = core().runs.get(run_id)
        if run.etag.strip('"') in request.if_none_match:
            return json_response(None, 304, {"ETag": run.etag})
        return json_response(present_run(run), 200, {"ETag": run.etag})


@blp.route("/runs/<id:run_id>/history")
class RunHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, TransitionSchema(many=True))
    @blp.paginate()
    @errors(blp, 404)
    def get(self, query: dict, run_id: str, pagination_parameters: Any) -> list[dict]:
        """A run's transitions, oldest first; `since_seq` follows new ones

        The run's step-to-step transitions with `seq` greater than `since_seq`, paged.
        """
        offset, limit = offset_limit(pagination_parameters)
        page = core().runs.history(run_id, query["since_seq"], offset, limit)
        pagination_parameters.item_count = page.total
        return [presenters.transition(record) for record in page.items]


@blp.route("/runs/<id:run_id>/diagram")
class RunDiagram(MethodView):
    @blp.response(200, MERMAID_TEXT, content_type="text/plain", description="A Mermaid diagram.")
    @errors(blp, 404)
    def get(self, run_id: str) -> Any:
        """Draw a run's workflow (the version it is pinned to) with the path it has taken

        Mermaid `stateDiagram-v2` text: the current state has the class `s_active`, the
        states visited before it `s_previous`, and the step that failed `s_failed`.
        """
        return text_response(core().runs.diagram(run_id))


@blp.route("/runs/<id:run_id>/explain")
class RunExplain(MethodView):
    @blp.response(200, ExplanationSchema)
    @errors(blp, 404)
    def get(self, run_id: str) -> Any:
        """Say why a run is not progressing

        For each active step: the worker it waits for (and whether the queue is full), the
        retry or timer and when it is due, the agent holding its task with the age of its
        last heartbeat and the end of its lease, the agents that could claim it, or the
        answer it waits for.
        """
        return presenters.explanation(core().explainer.run(run_id))


@blp.route("/runs/<id:run_id>/cancel")
class RunCancel(MethodView):
    @idempotent
    @blp.response(200, RunTransitionSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @errors(blp, 404, 409)
    def post(self, run_id: str) -> Any:
        """Cancel a run that has not finished (409 otherwise)

        Ends the run as `cancelled` and releases the agent bound to it. Safe to retry
        with `Idempotency-Key`.
        """
        return changed_run(core().runs.cancel(run_id, idempotency=idempotency_for(_changed)))


@blp.route("/runs/<id:run_id>/redrive")
class RunRedrive(MethodView):
    @idempotent
    @blp.response(200, RunTransitionSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @errors(blp, 404, 409)
    def post(self, run_id: str) -> Any:
        """Restart a failed run at the step that failed; finished steps are not run again

        Only a `failed` run (409 otherwise): it goes back to the failed step with fresh
        attempts, keeping the outputs of the steps that succeeded.
        """
        return changed_run(core().runs.redrive(run_id, idempotency=idempotency_for(_changed)))


@blp.route("/runs/<id:run_id>/upgrade")
class RunUpgrade(MethodView):
    @idempotent
    @blp.arguments(UpgradeSchema)
    @blp.response(200, RunTransitionSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, run_id: str) -> Any:
        """Move a run none of whose steps runs to a newer version of its workflow

        For a run whose step is queued, retrying, waiting or sleeping, or that has failed
        (409 while a step runs or once it succeeded or was cancelled; a waiting or
        sleeping step keeps its name). `states` maps the top-level steps the version
        renamed; 422 with the reason (and nothing changed) when the version does not
        grow, is retired, or a step the run needs is not in it. The move is in the run's
        history as `(upgrade)`; its next steps come from the new version.
        """
        fired = core().runs.upgrade(
            run_id, body["version"], body["states"], idempotency=idempotency_for(_changed)
        )
        return changed_run(fired)


@blp.route("/runs/<id:run_id>/steps/<step:step>/complete")
class StepComplete(MethodView):
    @idempotent
    @blp.arguments(StepCompleteSchema)
    @blp.response(200, RunTransitionSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, run_id: str, step: str) -> Any:
        """An agent reports its step done with an output (409 unless the step waits for it)

        For a step with `task: agent` waiting for a named agent (see `GET
        /v1/agents/{agent_id}/tasks`). The output becomes the step's output and the run
        moves on.
        """
        fired = core().runs.complete_step(
            run_id, step, body["output"], idempotency=idempotency_for(_changed)
        )
        return changed_run(fired)


@blp.route("/runs/<id:run_id>/steps/<step:step>/fail")
class StepFail(MethodView):
    @idempotent
    @blp.arguments(StepFailSchema)
    @blp.response(200, RunTransitionSchema, headers=ETAG)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, run_id: str, step: str) -> Any:
        """An agent reports its step failed; the step's retriers and catchers apply

        `error` is an error name such as `Agent.Refused`: a retrier that matches it
        tries the step again, else a catcher that matches it moves the run, else the run
        fails.
        """
        fired = core().runs.fail_step(
            run_id, step, body["error"], body["message"], idempotency=idempotency_for(_changed)
        )
        return changed_run(fired)


@blp.route("/agents/<id:agent_id>/tasks")
class AgentTasks(MethodView):
    @blp.response(200, AgentTaskSchema(many=True))
    @blp.paginate()
    @errors(blp, 404)
    def get(self, agent_id: str, pagination_parameters: Any) -> list[dict]:
        """The steps waiting for this agent to report them complete or failed

        Steps of runs bound to this agent that wait for its report, with the request
        each step made. 404 when there is no such agent.
        """
        offset, limit = offset_limit(pagination_parameters)
        runs = core().runs
        page = runs.tasks_for_agent(agent_id, offset, limit)
        pagination_parameters.item_count = page.total
        return [
            task
            for run in page.items
            for task in presenters.agent_tasks(run, runs.state(run), agent_id)
        ]
