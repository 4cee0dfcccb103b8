"""Marshmallow schemas of the HTTP contract: request bodies and query strings are loaded with
them; responses are built by `presenters` and documented (and contract-tested) by them."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..config import MAX_JSON_BYTES
from ..names import NAME_MAX, NAME_PATTERN, NAME_RULE
from ..services.validation import (
    CAPABILITY_MAX,
    CAPABILITY_PATTERN,
    ID_MAX,
    ID_PATTERN,
    MAX_CAPABILITIES,
    MAX_JSON_DEPTH,
    NOT_PRINTABLE,
    UNPRINTABLE,
)
from ..services.validation import (
    NAME_MAX as DISPLAY_NAME_MAX,
)

MAX_SEQ = 2**63 - 1  # sequence numbers are 64-bit integers in the SQL stores
MAX_VERSION = 2**31 - 1
JSON_LIMITS = (
    f"At most `OPSCORE_MAX_JSON_BYTES` (default {MAX_JSON_BYTES}) bytes serialized and "
    f"{MAX_JSON_DEPTH} levels deep."
)

machine_name = validate.Regexp(NAME_PATTERN, error="must be a machine name")


def length(maximum: int, minimum: int = 0, unit: str = "characters") -> validate.Length:
    """A length limit whose error message names it (and that the OpenAPI document states)."""
    if minimum:
        return validate.Length(min=minimum, max=maximum, error=f"must be {{min}} to {{max}} {unit}")
    return validate.Length(max=maximum, error=f"must be at most {{max}} {unit}")


def printable(value: str) -> None:
    """Refuse text a SQL store cannot keep in a text column."""
    if UNPRINTABLE.search(value):
        raise ValidationError(NOT_PRINTABLE)


def _name(**kwargs) -> fields.String:
    return fields.String(
        validate=[
            length(NAME_MAX, 1),
            validate.Regexp(NAME_PATTERN, error=NAME_RULE),
        ],
        **kwargs,
    )


def instance_id(**kwargs) -> fields.String:
    """An agent, session or run id."""
    return fields.String(
        validate=[
            length(ID_MAX, 1),
            validate.Regexp(
                ID_PATTERN, error="letters, digits, '.', '_', ':' or '-', starting alphanumeric"
            ),
        ],
        **kwargs,
    )


def capability_name(**kwargs) -> fields.String:
    """A capability name."""
    return fields.String(
        validate=[
            length(CAPABILITY_MAX, 1),
            validate.Regexp(
                CAPABILITY_PATTERN,
                error="letters, digits, '.', '_', ':', '/' or '-', starting alphanumeric",
            ),
        ],
        **kwargs,
    )


def json_object(description: str = "", **kwargs) -> fields.Dict:
    """A JSON object the services keep; its size and depth limits are checked there."""
    text = f"{description} {JSON_LIMITS}".strip()
    return fields.Dict(keys=fields.String(), metadata={"description": text}, **kwargs)


class StrictSchema(Schema):
    """Unknown fields are a 422 naming them."""

    class Meta:
        unknown = RAISE


# ---- requests --------------------------------------------------------------------------


class AgentCreateSchema(StrictSchema):
    id = instance_id(metadata={"description": "Client-given id; generated when absent."})
    name = fields.String(validate=[length(DISPLAY_NAME_MAX), printable], allow_none=True)
    machine = _name(load_default="agent", metadata={"description": "An `agent` machine."})
    capabilities = fields.List(
        capability_name(),
        validate=length(MAX_CAPABILITIES, unit="items"),
        load_default=list,
    )
    metadata = json_object(load_default=dict)


class EventSchema(StrictSchema):
    event = _name(required=True, metadata={"description": "The event (trigger) to fire."})
    data = json_object("Kept in the transition record.", load_default=dict)


class UpgradeSchema(StrictSchema):
    version = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_VERSION),
        metadata={"description": "The newer version of the agent's machine to move to."},
    )
    states = fields.Dict(
        keys=_name(),
        values=_name(),
        load_default=dict,
        validate=validate.Length(max=200),
        metadata={
            "description": "Renamed states: old name -> new name (others keep their name).",
            "example": {"busy": "working"},
        },
    )


class SessionCreateSchema(StrictSchema):
    machine = _name(load_default="session", metadata={"description": "A `session` machine."})
    metadata = json_object(load_default=dict)


class AgentQuerySchema(StrictSchema):
    state = _name()
    machine = _name()
    capability = capability_name()


class SessionQuerySchema(StrictSchema):
    state = _name()


class HistoryQuerySchema(StrictSchema):
    since_seq = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_SEQ, error="must be {min} to {max}"),
        metadata={"description": "Only records with a greater sequence number."},
    )


class MachineQuerySchema(StrictSchema):
    version = fields.Integer(validate=validate.Range(min=1, max=MAX_VERSION))


class DiagramQuerySchema(MachineQuerySchema):
    state = _name(metadata={"description": "Highlight this state."})


class MachineListQuerySchema(StrictSchema):
    kind = fields.String(validate=validate.OneOf(("agent", "session", "workflow")))


class ValidateQuerySchema(StrictSchema):
    file = fields.String(
        load_default="request",
        validate=length(200, 1),
        metadata={"description": "The file name the problems should name."},
    )


# ---- responses -------------------------------------------------------------------------


class MachineRefSchema(Schema):
    name = fields.String(required=True)
    version = fields.Integer(required=True)


class AgentSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    machine = fields.Nested(MachineRefSchema, required=True)
    state = fields.String(required=True)
    allowed_events = fields.List(fields.String(), required=True)
    capabilities = fields.List(fields.String(), required=True)
    metadata = fields.Dict(required=True)
    context = fields.Dict(
        required=True, metadata={"description": "Variables the machine's actions keep."}
    )
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})
    revision = fields.Integer(required=True)


class SessionSchema(Schema):
    id = fields.String(required=True)
    agent_id = fields.String(required=True)
    machine = fields.Nested(MachineRefSchema, required=True)
    state = fields.String(required=True)
    allowed_events = fields.List(fields.String(), required=True)
    metadata = fields.Dict(required=True)
    context = fields.Dict(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})
    revision = fields.Integer(required=True)


class TransitionSchema(Schema):
    seq = fields.Integer(required=True)
    event = fields.String(required=True)
    source = fields.String(required=True)
    dest = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    data = fields.Dict(required=True)


class AgentEventResultSchema(Schema):
    agent = fields.Nested(AgentSchema, required=True)
    transition = fields.Nested(TransitionSchema, required=True)


class SessionEventResultSchema(Schema):
    session = fields.Nested(SessionSchema, required=True)
    transition = fields.Nested(TransitionSchema, required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)
    version = fields.String(required=True)
    store = fields.String(required=True)
    machines = fields.Integer(required=True, metadata={"description": "Definitions loaded."})


class MachineSummarySchema(Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True)
    version = fields.Integer(required=True)
    versions = fields.List(fields.Integer(), required=True)
    description = fields.String(required=True)
    content_hash = fields.String(required=True)


class StateSpecSchema(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    final = fields.Boolean(required=True)
    on_enter = fields.List(fields.String(), required=True)
    on_exit = fields.List(fields.String(), required=True)
    allowed_events = fields.List(fields.String(), required=True)


class TransitionSpecSchema(Schema):
    trigger = fields.String(required=True)
    sources = fields.List(fields.String(), required=True)
    dest = fields.String(required=True)
    conditions = fields.List(fields.String(), required=True)
    unless = fields.List(fields.String(), required=True)
    before = fields.List(fields.String(), required=True)
    after = fields.List(fields.String(), required=True)
    description = fields.String(required=True)


class MachineSchema(MachineSummarySchema):
    initial = fields.String(required=True)
    states = fields.List(fields.Nested(StateSpecSchema), required=True)
    transitions = fields.List(fields.Nested(TransitionSpecSchema), required=True)


class ProblemSchema(Schema):
    file = fields.String(required=True)
    line = fields.Integer(required=True)
    path = fields.String(required=True)
    message = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(("error", "warning")))
    text = fields.String(required=True, metadata={"description": "`file:line: path: message`"})


class ValidationResultSchema(Schema):
    valid = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    machine = fields.Nested(MachineSummarySchema, allow_none=True, required=True)


class MachineKeySchema(Schema):
    name = fields.String(required=True)
    version = fields.Integer(required=True)


class MachineVersionSchema(Schema):
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    retired = fields.Boolean(
        required=True, metadata={"description": "Retired: no new instances; running ones go on."}
    )
    instances = fields.Integer(
        required=True, metadata={"description": "Instances (agents, sessions, runs) of it."}
    )


class ReloadResultSchema(Schema):
    added = fields.List(
        fields.Nested(MachineKeySchema),
        required=True,
        metadata={"description": "Definition versions loaded by this call."},
    )
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)
