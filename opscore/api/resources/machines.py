"""`/v1/machines`: the loaded definitions, their diagrams, and a validator for new ones."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from ...services.definitions import DefinitionService, definition_text
from .. import presenters
from ..http import core, json_response, page_of, text_response
from ..schemas import (
    DiagramQuerySchema,
    MachineListQuerySchema,
    MachineQuerySchema,
    MachineSchema,
    MachineSummarySchema,
    ReloadResultSchema,
    ValidateQuerySchema,
    ValidationResultSchema,
)
from ..smorest import Blueprint, parse_json_body
from ._docs import WITH_BODY, errors

blp = Blueprint(
    "machines",
    __name__,
    url_prefix="/v1/machines",
    description="Machine definitions: states, transitions, versions, diagrams.",
)

DEFINITION_TYPES = (
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
    "application/json",
)


def definitions() -> DefinitionService:
    """The definitions this app serves."""
    return core().definition_service


@blp.route("")
class Machines(MethodView):
    @blp.arguments(MachineListQuerySchema, location="query")
    @blp.response(200, MachineSummarySchema(many=True))
    @blp.paginate()
    @errors(blp)
    def get(self, query: dict, pagination_parameters: Any) -> list[dict]:
        """List machine definitions (latest version of each)"""
        service = definitions()
        page = page_of(service.latest(query.get("kind")), pagination_parameters)
        return [presenters.machine_summary(d, service.versions(d.name)) for d in page]


@blp.route("/<name:name>")
class Machine(MethodView):
    @blp.arguments(MachineQuerySchema, location="query")
    @blp.response(200, MachineSchema)
    @errors(blp, 404)
    def get(self, query: dict, name: str) -> Any:
        """Get a machine's states and transitions (`version` for an older one)"""
        service = definitions()
        definition = service.get(name, query.get("version"))
        return json_response(presenters.machine(definition, service.versions(name)))


@blp.route("/<name:name>/diagram")
class MachineDiagram(MethodView):
    @blp.arguments(DiagramQuerySchema, location="query")
    @blp.response(
        200, {"type": "string"}, content_type="text/plain", description="A Mermaid stateDiagram-v2."
    )
    @errors(blp, 404)
    def get(self, query: dict, name: str) -> Any:
        """Draw a machine as a Mermaid stateDiagram-v2, optionally highlighting a state"""
        return text_response(definitions().draw(name, query.get("version"), query.get("state")))


@blp.route("/reload")
class MachineReload(MethodView):
    @blp.response(200, ReloadResultSchema)
    @errors(blp, 403)
    def post(self) -> Any:
        """Load new definition versions from the machines folder (admin scope)

        Every file is validated first; if any is invalid, nothing is loaded and the answer is
        a 422 listing every problem. Versions already loaded stay as they are; a file that
        changes a loaded version without raising `version` is an error. With several
        processes, each loads on its own: restart them, or call this on each.
        """
        reloaded = definitions().reload()
        added = [{"name": name, "version": version} for name, version in reloaded.added]
        warnings = [presenters.problem(p) for p in reloaded.warnings]
        return json_response({"added": added, "warnings": warnings})


@blp.route("/validate")
class MachineValidation(MethodView):
    @blp.arguments(ValidateQuerySchema, location="query")
    @blp.doc(
        requestBody={
            "required": True,
            "description": "One definition: a YAML or JSON mapping.",
            "content": {t: {"schema": {"type": "object"}} for t in DEFINITION_TYPES},
        }
    )
    @blp.response(200, ValidationResultSchema)
    @errors(blp, *WITH_BODY)
    def post(self, query: dict) -> Any:
        """Validate a definition without loading it

        Answers the same `file:line: path: message` problems as `opscore machines check`;
        a body that is not a YAML or JSON mapping at all is a 422 listing them.
        """
        text = _definition_text(query["file"])
        result = definitions().validate(text, query["file"])
        definition = result.definition
        summary = (
            presenters.machine_summary(definition, [definition.version]) if definition else None
        )
        body = {
            "valid": definition is not None,
            "problems": [presenters.problem(p) for p in result.problems],
            "machine": summary,
        }
        return json_response(body)


def _definition_text(file: str) -> str:
    """The request body as definition text; DefinitionError unless it is a YAML/JSON mapping."""
    raw = request.get_data(cache=True)
    if request.mimetype == "application/json":
        parse_json_body(raw)
        raw = raw.replace(b"\t", b" ")
    return definition_text(raw, file)
