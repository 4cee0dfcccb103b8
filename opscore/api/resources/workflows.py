"""`/v1/workflows`: workflow templates, their diagrams, and starting runs of them."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from ...model import Instance
from .. import presenters
from ..http import core, json_response, page_of, text_response
from ..idempotency import idempotency_for, idempotent
from ..schemas import MachineListQuerySchema
from ..smorest import Blueprint
from ..workflow_schemas import RunSchema, RunStartSchema, WorkflowQuerySchema, WorkflowSchema
from ._docs import IDEMPOTENCY_KEY, WITH_BODY, errors, link, links

blp = Blueprint(
    "workflows",
    __name__,
    url_prefix="/v1/workflows",
    description="Workflow templates and starting runs of them.",
)
RUN_ID = {"run_id": "$response.body#/id"}
STARTED = links(
    202,
    GetRun=link("/v1/runs/{run_id}", "get", "The run just started.", **RUN_ID),
    GetRunHistory=link("/v1/runs/{run_id}/history", "get", "Its transitions.", **RUN_ID),
    CancelRun=link("/v1/runs/{run_id}/cancel", "post", "Cancel it.", **RUN_ID),
)
LISTED = links(
    200,
    GetWorkflow=link(
        "/v1/workflows/{name}", "get", "The first template listed.", name="$response.body#/0/name"
    ),
)
FOUND = links(
    200,
    StartRun=link(
        "/v1/workflows/{name}/runs", "post", "Start a run of it.", name="$response.body#/name"
    ),
)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


def present_run(run: Instance) -> dict[str, Any]:
    """A run's representation."""
    runs = core().runs
    return presenters.run(run, runs.template(run), runs.state(run))


def _started(run: Instance) -> tuple[int, dict[str, Any], dict[str, str]]:
    return 202, present_run(run), {"Location": url_for("runs.Run", run_id=run.id)}


@blp.route("")
class Workflows(MethodView):
    @blp.arguments(MachineListQuerySchema, location="query")
    @blp.response(200, WorkflowSchema(many=True))
    @blp.paginate()
    @blp.doc(**LISTED)
    @errors(blp)
    def get(self, query: dict, pagination_parameters: Any) -> list[dict]:
        """List workflow templates (latest version of each)

        Every `kind: workflow` definition, newest version of each, with its steps.
        """
        definitions = core().definition_service
        page = page_of(definitions.latest("workflow"), pagination_parameters)
        return [presenters.workflow(d, definitions.versions(d.name)) for d in page]


@blp.route("/<name:name>")
class Workflow(MethodView):
    @blp.arguments(WorkflowQuerySchema, location="query")
    @blp.response(200, WorkflowSchema)
    @blp.doc(**FOUND)
    @errors(blp, 404)
    def get(self, query: dict, name: str) -> Any:
        """Get a workflow template (`version` for an older one)

        The template as written: start step, steps, input schema, agent binding and
        timeout. 404 for no such workflow.
        """
        definition = core().runs.workflow(name, query.get("version"))
        versions = core().definition_service.versions(name)
        return json_response(presenters.workflow(definition, versions))


@blp.route("/<name:name>/diagram")
class WorkflowDiagram(MethodView):
    @blp.arguments(WorkflowQuerySchema, location="query")
    @blp.response(
        200, {"type": "string"}, content_type="text/plain", description="A Mermaid stateDiagram-v2."
    )
    @errors(blp, 404)
    def get(self, query: dict, name: str) -> Any:
        """Draw a workflow's run machine as a Mermaid stateDiagram-v2

        The machine a run of this template follows: its steps plus `succeeded`, `failed`
        and `cancelled`.
        """
        definition = core().runs.workflow(name, query.get("version"))  # 404 unless a workflow
        return text_response(core().definition_service.draw(name, definition.version))


@blp.route("/<name:name>/runs")
class WorkflowRuns(MethodView):
    @idempotent
    @blp.arguments(RunStartSchema, required=False)
    @blp.response(202, RunSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(
        429, schema="Error", description="The work queue is full.", headers=RETRY_AFTER
    )
    @blp.doc(parameters=[IDEMPOTENCY_KEY], **STARTED)
    @errors(blp, 404, 409, *WITH_BODY)
    def post(self, body: dict, name: str) -> Any:
        """Start a run

        Validates the input, pins the template version, queues the first step and answers
        202 at once. 429 with `Retry-After` when the work queue is full; 409 when the
        bound agent cannot take its `on_start` event.
        """
        run = core().runs.start(
            name,
            body["input"],
            agent_id=body.get("agent_id"),
            idempotency=idempotency_for(_started),
        )
        status, payload, headers = _started(run)
        return json_response(payload, status, headers)
