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
    MachineVersionSchema,
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
        """List machine definitions (latest version of each)

        Every definition the service serves, agents, sessions and workflows, newest
        version of each, optionally only of one `kind`.
        """
        service = definitions()
        page = page_of(service.latest(query.get("kind")), pagination_parameters)
        return [presenters.machine_summary(d, service.versions(d.name)) for d in page]


DEFINITION_BODY = {
    "required": True,
    "description": "One definition: a YAML or JSON mapping.",
    "content": {t: {"schema": {"type": "object"}} for t in DEFINITION_TYPES},
}


@blp.route("/<name:name>")
class Machine(MethodView):
    @blp.arguments(MachineQuerySchema, location="query")
    @blp.response(200, MachineSchema)
    @errors(blp, 404)
    def get(self, query: dict, name: str) -> Any:
        """Get a machine's states and transitions (`version` for an older one)

        The definition as loaded: states, transitions, every version loaded and the
        content hash. 404 for no such name or version.
        """
        service = definitions()
        definition = service.get(name, query.get("version"))
        return json_response(presenters.machine(definition, service.versions(name)))

    @blp.doc(requestBody=DEFINITION_BODY)
    @blp.response(201, MachineSummarySchema, description="A new version, stored.")
    @blp.alt_response(200, schema=MachineSummarySchema, description="The same content again.")
    @errors(blp, 403, *WITH_BODY)
    def put(self, name: str) -> Any:
        """Store a new version of a definition (admin scope)

        The body is checked exactly like a file; a 422 lists every problem as
        `line: path: message`. Its `name` must be the path's and its `version` must grow;
        the same content again answers 200 and changes nothing. Every process serves the
        new version within a second.
        """
        text = _definition_text(name)
        definition, created = definitions().put(name, text, name)
        body = presenters.machine_summary(definition, definitions().versions(name))
        return json_response(body, 201 if created else 200)


@blp.route("/<name:name>/versions")
class MachineVersions(MethodView):
    @blp.response(200, MachineVersionSchema(many=True))
    @errors(blp, 404)
    def get(self, name: str) -> Any:
        """List a machine's versions: retired or not, and how many instances each has

        Every stored version, oldest first, with its content hash. 404 for no such name.
        """
        return json_response([_version(v) for v in definitions().version_infos(name)])


@blp.route("/<name:name>/versions/<int:version>/retire")
class MachineVersionRetirement(MethodView):
    @blp.response(200, MachineVersionSchema)
    @errors(blp, 403, 404)
    def post(self, name: str, version: int) -> Any:
        """Retire a version (admin scope): no new instances of it; running ones go on

        Registering or starting on a retired version is refused; instances already on it
        keep running and can be upgraded. 404 for no such name or version.
        """
        return json_response(_version(definitions().retire(name, version)))


def _version(info: Any) -> dict[str, Any]:
    return {
        "version": info.version,
        "content_hash": info.content_hash,
        "retired": info.retired,
        "instances": info.instances,
    }


@blp.route("/<name:name>/diagram")
class MachineDiagram(MethodView):
    @blp.arguments(DiagramQuerySchema, location="query")
    @blp.response(
        200, {"type": "string"}, content_type="text/plain", description="A Mermaid stateDiagram-v2."
    )
    @errors(blp, 404)
    def get(self, query: dict, name: str) -> Any:
        """Draw a machine as a Mermaid stateDiagram-v2, optionally highlighting a state

        Plain text to paste into any Mermaid renderer; `state` marks one state (the web
        page marks an instance's current state this way).
        """
        return text_response(definitions().draw(name, query.get("version"), query.get("state")))


@blp.route("/reload")
class MachineReload(MethodView):
    @blp.response(200, ReloadResultSchema)
    @errors(blp, 403)
    def post(self) -> Any:
        """Load new definition versions from the machines folder (admin scope)

        Every file is validated first; if any is invalid, nothing is loaded and the answer is
        a 422 listing every problem. Versions already loaded stay as they are; a file that
        changes a loaded version without raising `version` is an error. What it adds is
        stored, so every process serves it within a second.
        """
        reloaded = definitions().reload()
        added = [{"name": name, "version": version} for name, version in reloaded.added]
        warnings = [presenters.problem(p) for p in reloaded.warnings]
        return json_response({"added": added, "warnings": warnings})


@blp.route("/validate")
class MachineValidation(MethodView):
    @blp.arguments(ValidateQuerySchema, location="query")
    @blp.doc(requestBody=DEFINITION_BODY)
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
    is_json = request.mimetype == "application/json"
    if is_json:
        parse_json_body(raw)
    return definition_text(raw, file, is_json=is_json or None)
