"""`/v1/tasks`: steps waiting for an agent or an answer; claimed with a lease, renewed by
heartbeats, reported with the lease's token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from ...runs import Task
from .. import presenters
from ..http import core, json_response, page_of
from ..idempotency import idempotency_for, idempotent
from ..smorest import Blueprint
from ..task_schemas import (
    ClaimedTaskSchema,
    ClaimSchema,
    LeaseSchema,
    TaskCompleteSchema,
    TaskFailSchema,
    TaskQuerySchema,
    TaskSchema,
)
from ..workflow_schemas import RunTransitionSchema
from ._docs import WITH_BODY, errors
from .runs import changed_run

blp = Blueprint(
    "tasks",
    __name__,
    url_prefix="/v1/tasks",
    description="Tasks: what agents claim, keep alive and report; input steps' answers.",
)


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True))
    @blp.paginate()
    @errors(blp)
    def get(self, query: dict, pagination_parameters: Any) -> list[dict]:
        """List waiting tasks, by capability, holder (or named agent) and state

        Tasks are steps handed to agents by capability; `state` is an A2A task state
        such as `submitted` (unclaimed) or `working` (claimed). Paged, oldest first.
        """
        tasks = core().agent_tasks.list(
            query.get("capability"), query.get("agent_id"), query.get("state")
        )
        return [presenters.task(t) for t in page_of(tasks, pagination_parameters)]


@blp.route("/claim")
class TaskClaim(MethodView):
    @idempotent
    @blp.arguments(ClaimSchema)
    @blp.response(200, ClaimedTaskSchema)
    @blp.alt_response(204, description="No task came within `wait` seconds.")
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict) -> Any:
        """Claim one task the agent may take (its capability, or named for it)

        Waits up to `wait` seconds for one. Two agents claiming at once never get the same
        task. The claiming agent's machine moves with the claim (its `claim` event, by
        default `activate`), in the same commit; 409 when the agent has ended. With an
        `Idempotency-Key`, a retried claim answers the task (and lease token) the first one
        took instead of taking another; a claim that found none keeps nothing.
        """
        idempotency = idempotency_for(lambda claimed: (200, presenters.task(*claimed), {}))
        claimed = core().agent_tasks.claim(body["agent_id"], body["wait"], idempotency)
        if claimed is None:
            return json_response(None, 204)
        return json_response(presenters.task(*claimed))


@blp.route("/<id:task_id>")
class TaskOne(MethodView):
    @blp.response(200, TaskSchema)
    @errors(blp, 404)
    def get(self, task_id: str) -> Any:
        """Get a waiting task

        A task that is still waiting or claimed; a settled one is a 404.
        """
        return json_response(presenters.task(core().agent_tasks.get(task_id)))


@blp.route("/<id:task_id>/heartbeat")
class TaskHeartbeat(MethodView):
    @blp.arguments(LeaseSchema)
    @blp.response(200, TaskSchema)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, task_id: str) -> Any:
        """Keep a claim alive: the lease lasts another lease from now (409 if it was lost)

        Send the lease token the claim answered. A lease that lapses is a
        `States.HeartbeatTimeout` error of the step, which its retriers handle.
        """
        task: Task = core().agent_tasks.heartbeat(task_id, body["lease_token"])
        return json_response(presenters.task(task))


@blp.route("/<id:task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(TaskCompleteSchema)
    @blp.response(200, RunTransitionSchema)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, task_id: str) -> Any:
        """Report a task done with its output

        409 when the lease token is not the current one: a holder that lost its claim
        cannot overwrite the new holder's result. An input step's answer needs no token
        and must satisfy the step's schema (422 otherwise; nothing changes).
        """
        fired = core().agent_tasks.complete(task_id, body.get("lease_token"), body["output"])
        return changed_run(fired)


@blp.route("/<id:task_id>/fail")
class TaskFail(MethodView):
    @blp.arguments(TaskFailSchema)
    @blp.response(200, RunTransitionSchema)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, task_id: str) -> Any:
        """Report a task failed: the step's retriers and catchers apply (409 on a stale token)

        Send the lease token and an error name; as for a step report, retriers and
        catchers match the name.
        """
        fired = core().agent_tasks.fail(
            task_id, body.get("lease_token"), body["error"], body["message"]
        )
        return changed_run(fired)
