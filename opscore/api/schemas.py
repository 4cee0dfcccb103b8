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
    """What registers an agent: an optional id, a name, its machine, capabilities and metadata."""

    id = instance_id(metadata={"description": "Client-given id; generated when absent."})
    name = fields.String(validate=[length(DISPLAY_NAME_MAX), printable], allow_none=True)
    machine = _name(load_default="agent", metadata={"description": "An `agent` machine."})
    capabilities = fields.List(
        capability_name(),
        validate=length(MAX_CAPABILITIES, unit="items"),
        load_default=list,
    )
    metadata = json_object(load_default=dict)
    endpoint = fields.String(  # push to agents: opscore/push, docs/push.md
        validate=length(2048, 1),
        allow_none=True,
        metadata={"description": "Push the agent's tasks to this https:// URL (docs/push.md)."},
    )


class EventSchema(StrictSchema):
    """An event to fire on an agent or session, with data its conditions and actions read."""

    event = _name(required=True, metadata={"description": "The event (trigger) to fire."})
    data = json_object("Kept in the transition record.", load_default=dict)


class UpgradeSchema(StrictSchema):
    """Where an agent or a run moves: a newer version of its machine or workflow, and the
    states (a run's steps) that version renamed."""

    version = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_VERSION),
        metadata={"description": "The newer version of the machine or workflow to move to."},
    )
    states = fields.Dict(
        keys=_name(),
        values=_name(),
        load_default=dict,
        validate=validate.Length(max=200),
        metadata={
            "description": "Renamed states, or a run's top-level steps: old name -> new name "
            "(others keep their name).",
            "example": {"busy": "working"},
        },
    )


class SessionCreateSchema(StrictSchema):
    """What opens a session: its machine (default `session`) and metadata."""

    machine = _name(load_default="session", metadata={"description": "A `session` machine."})
    metadata = json_object(load_default=dict)


class AgentQuerySchema(StrictSchema):
    """Filters of the agent list."""

    state = _name()
    machine = _name()
    capability = capability_name()


class SessionQuerySchema(StrictSchema):
    """Filters of an agent's session list."""

    state = _name()


class HistoryQuerySchema(StrictSchema):
    """Where a history page starts: after this sequence number."""

    since_seq = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_SEQ, error="must be {min} to {max}"),
        metadata={"description": "Only records with a greater sequence number."},
    )


class MachineQuerySchema(StrictSchema):
    """Which version of a definition (default: the newest)."""

    version = fields.Integer(validate=validate.Range(min=1, max=MAX_VERSION))


class DiagramQuerySchema(MachineQuerySchema):
    """Which version to draw, and which state to highlight."""

    state = _name(metadata={"description": "Highlight this state."})


class MachineListQuerySchema(StrictSchema):
    """Filters of the definition list."""

    kind = fields.String(validate=validate.OneOf(("agent", "session", "workflow")))


class ValidateQuerySchema(StrictSchema):
    """How to name the checked document in its problems."""

    file = fields.String(
        load_default="request",
        validate=length(200, 1),
        metadata={"description": "The file name the problems should name."},
    )


# ---- responses -------------------------------------------------------------------------


class MachineRefSchema(Schema):
    """A definition by name and version, as an instance pins it."""

    name = fields.String(required=True)
    version = fields.Integer(required=True)


class AgentSchema(Schema):
    """An agent: its state, the events it may fire now, capabilities, metadata and context."""

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
    last_seen = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date-time",
            "description": "Its latest heartbeat (a task claim or heartbeat counts); null if none.",
        },
    )
    endpoint = fields.String(
        metadata={
            "description": "Where its tasks are pushed (docs/push.md), when it gave an "
            "endpoint: in the answers of registering and of getting this one agent."
        }
    )


class HeartbeatSchema(Schema):
    """An agent's heartbeat recorded: when it was last seen, and when silence is a miss."""

    agent_id = fields.String(required=True)
    last_seen = fields.String(required=True, metadata={"format": "date-time"})
    missed_at = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date-time",
            "description": "When silence from now on fires the machine's `missed` event; "
            "null when its machine watches no heartbeats.",
        },
    )


class ReasonSchema(Schema):
    """One reason an instance is where it is: what it waits on, in a sentence, with facts."""

    waits = fields.String(
        required=True,
        metadata={
            "description": "What it waits on: worker, retry, timer, running, lease, agent, "
            "capability, input, child, heartbeat, task, offer or ended."
        },
    )
    message = fields.String(required=True, metadata={"description": "The reason, in a sentence."})
    step = fields.String(required=True, allow_none=True)
    facts = fields.Dict(required=True, metadata={"description": "The facts behind it."})


class ExplanationSchema(Schema):
    """Why a run or agent is where it is: its state and the reasons."""

    id = fields.String(required=True)
    state = fields.String(required=True)
    a2a_state = fields.String(
        required=True, allow_none=True, metadata={"description": "A run's state in A2A terms."}
    )
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class SessionSchema(Schema):
    """A session of an agent: its state and the events it may fire now."""

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
    """One committed transition: its sequence number, event, source, destination, time and data."""

    seq = fields.Integer(required=True)
    event = fields.String(required=True)
    source = fields.String(required=True)
    dest = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    data = fields.Dict(required=True)


class AgentEventResultSchema(Schema):
    """The agent after an event, and the transition the event made."""

    agent = fields.Nested(AgentSchema, required=True)
    transition = fields.Nested(TransitionSchema, required=True)


class SessionEventResultSchema(Schema):
    """The session after an event, and the transition the event made."""

    session = fields.Nested(SessionSchema, required=True)
    transition = fields.Nested(TransitionSchema, required=True)


class HealthSchema(Schema):
    """Whether the service is up: its version, its store and the definitions it serves."""

    status = fields.String(required=True)
    version = fields.String(required=True)
    store = fields.String(required=True)
    machines = fields.Integer(required=True, metadata={"description": "Definitions loaded."})


class MachineSummarySchema(Schema):
    """A definition's identity: name, kind, version, every loaded version, content hash."""

    name = fields.String(required=True)
    kind = fields.String(required=True)
    version = fields.Integer(required=True)
    versions = fields.List(fields.Integer(), required=True)
    description = fields.String(required=True)
    content_hash = fields.String(required=True)


class StateSpecSchema(Schema):
    """A state of a definition, as written in its YAML."""

    name = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    final = fields.Boolean(required=True)
    on_enter = fields.List(fields.String(), required=True)
    on_exit = fields.List(fields.String(), required=True)
    allowed_events = fields.List(fields.String(), required=True)


class TransitionSpecSchema(Schema):
    """A transition of a definition, as written in its YAML."""

    trigger = fields.String(required=True)
    sources = fields.List(fields.String(), required=True)
    dest = fields.String(required=True)
    conditions = fields.List(fields.String(), required=True)
    unless = fields.List(fields.String(), required=True)
    before = fields.List(fields.String(), required=True)
    after = fields.List(fields.String(), required=True)
    description = fields.String(required=True)


class MachineSchema(MachineSummarySchema):
    """A definition with its states and transitions."""

    initial = fields.String(required=True)
    states = fields.List(fields.Nested(StateSpecSchema), required=True)
    transitions = fields.List(fields.Nested(TransitionSpecSchema), required=True)


class ProblemSchema(Schema):
    """One problem found in a definition: where (file, line, path), what, and how bad."""

    file = fields.String(required=True)
    line = fields.Integer(required=True)
    path = fields.String(required=True)
    message = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(("error", "warning")))
    text = fields.String(required=True, metadata={"description": "`file:line: path: message`"})


class ValidationResultSchema(Schema):
    """Whether a definition is valid, its problems, and what it defines."""

    valid = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    machine = fields.Nested(MachineSummarySchema, allow_none=True, required=True)


class MachineKeySchema(Schema):
    """A definition version loaded by a reload."""

    name = fields.String(required=True)
    version = fields.Integer(required=True)


class MachineVersionSchema(Schema):
    """One stored version of a definition: its hash, whether it is retired, its instances."""

    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    retired = fields.Boolean(
        required=True, metadata={"description": "Retired: no new instances; running ones go on."}
    )
    instances = fields.Integer(
        required=True, metadata={"description": "Instances (agents, sessions, runs) of it."}
    )


class ReloadResultSchema(Schema):
    """What a reload loaded, and what it left as it was."""

    added = fields.List(
        fields.Nested(MachineKeySchema),
        required=True,
        metadata={"description": "Definition versions loaded by this call."},
    )
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)
