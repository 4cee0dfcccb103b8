"""Marshmallow schemas of the workflow and run endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..runs import RunStatus
from ..services.validation import MESSAGE_MAX
from ..tasks import ERROR_NAME, ERROR_NAME_MAX
from .schemas import (
    MAX_VERSION,
    MachineRefSchema,
    MachineSummarySchema,
    StrictSchema,
    _name,
    instance_id,
    json_object,
    length,
)

RUN_STATUSES = tuple(RunStatus)


# ---- requests --------------------------------------------------------------------------


class RunStartSchema(StrictSchema):
    """What starts a run: its input (checked against the workflow's input schema) and an agent
    to bind."""

    input = json_object("Validated against the workflow's schema.", load_default=dict)
    agent_id = instance_id(metadata={"description": "Bind the run to this agent."})


class RunQuerySchema(StrictSchema):
    """Filters of the run list."""

    workflow = _name()
    state = _name()
    agent_id = instance_id()


class StepCompleteSchema(StrictSchema):
    """An agent's report that the step it was waiting for is done, with its output."""

    output = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The step's output (any JSON). At most `OPSCORE_MAX_JSON_BYTES` "
            "(default 65536) bytes serialized and 10 levels deep."
        },
    )


class StepFailSchema(StrictSchema):
    """An agent's report that its step failed: an error name retriers and catchers match."""

    error = fields.String(
        required=True,
        validate=[
            length(ERROR_NAME_MAX, 1),
            validate.Regexp(ERROR_NAME, error="letters, digits, _ and ., starting with a letter"),
        ],
        metadata={"description": "An error name the retriers can match."},
    )
    message = fields.String(load_default="", validate=length(MESSAGE_MAX))


class WorkflowQuerySchema(StrictSchema):
    """Which version of a workflow (default: the newest)."""

    version = fields.Integer(validate=validate.Range(min=1, max=MAX_VERSION))


# ---- responses -------------------------------------------------------------------------


class ErrorInfoSchema(Schema):
    """An error a step or run ended with: its name, message and step."""

    name = fields.String(required=True)
    message = fields.String(required=True)
    step = fields.String()


class AttemptSchema(Schema):
    """One attempt at a step: when it started and ended, and how."""

    attempt = fields.Integer(required=True)
    started_at = fields.String(required=True, metadata={"format": "date-time"})
    ended_at = fields.String(metadata={"format": "date-time"})
    outcome = fields.String(
        required=True,
        metadata={"description": "running, succeeded, failed, timed out or cancelled"},
    )
    error = fields.Nested(ErrorInfoSchema)
    output = fields.Raw(allow_none=True)
    retry_in = fields.Float(metadata={"description": "Seconds until the retry (policy delay)."})
    worker = fields.String(metadata={"description": "The worker (host:pid:...) that ran it."})


class StepStateSchema(Schema):
    """A step of a run: its status, attempts, output or error."""

    name = fields.String(
        required=True,
        metadata={
            "description": "The step's path: `fetch`, `fan_out/research/search`, `each/3/x`."
        },
    )
    status = fields.String(required=True, allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)
    output = fields.Raw(required=True, allow_none=True)
    error = fields.Nested(ErrorInfoSchema, required=True, allow_none=True)
    child_run_id = fields.String(metadata={"description": "A workflow step's child run."})
    branches = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "A parallel or map step's branches or items: `total`, and how many "
            "are running, succeeded, failed, cancelled."
        },
    )


class ParentSchema(Schema):
    """The run (and step) that started this run as a child workflow."""

    run_id = fields.String(required=True)
    step = fields.String(required=True)
    attempt = fields.Integer(required=True)


class PendingSchema(Schema):
    """What the run waits for now: the step, its attempt and status."""

    step = fields.String(required=True)
    attempt = fields.Integer(required=True)
    status = fields.String(required=True)
    agent_id = fields.String()
    due = fields.String(metadata={"format": "date-time"})


class RunSchema(Schema):
    """A workflow run: its state, current step, steps with attempts, input, output and error."""

    id = fields.String(required=True)
    workflow = fields.Nested(MachineRefSchema, required=True)
    state = fields.String(
        required=True, metadata={"description": "A step, or succeeded, failed, cancelled."}
    )
    status = fields.String(required=True, validate=validate.OneOf(RUN_STATUSES))
    a2a_state = fields.String(
        required=True,
        metadata={
            "description": "The run as an A2A task: submitted, working, input-required, "
            "completed, failed or canceled (docs/agents.md)."
        },
    )
    current_step = fields.String(required=True, allow_none=True)
    pending = fields.Nested(PendingSchema, required=True, allow_none=True)
    agent_id = fields.String(required=True, allow_none=True)
    input = fields.Dict(required=True)
    output = fields.Raw(required=True, allow_none=True)
    error = fields.Nested(ErrorInfoSchema, required=True, allow_none=True)
    steps = fields.List(fields.Nested(StepStateSchema), required=True)
    parent = fields.Nested(
        ParentSchema,
        required=True,
        allow_none=True,
        metadata={"description": "For a child run: the run and workflow step that started it."},
    )
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})
    revision = fields.Integer(required=True)


class RunTransitionSchema(Schema):
    """The run after a change, and the transition the change made."""

    run = fields.Nested(RunSchema, required=True)
    transition = fields.Dict(required=True, allow_none=True)


class AgentTaskSchema(Schema):
    """A step waiting for this agent's report."""

    run_id = fields.String(required=True)
    workflow = fields.Nested(MachineRefSchema, required=True)
    step = fields.String(required=True)
    attempt = fields.Integer(required=True)
    agent_id = fields.String(required=True)
    request = fields.Dict(required=True)
    waiting_since = fields.String(required=True, metadata={"format": "date-time"})


class WorkflowSchema(MachineSummarySchema):
    """A workflow template: its steps as written, start step, input schema, agent binding and
    timeout."""

    start = fields.String(required=True)
    timeout = fields.Float(required=True, allow_none=True, metadata={"description": "Seconds."})
    input = fields.Dict(required=True, allow_none=True, metadata={"description": "JSON Schema."})
    agent = fields.Dict(required=True, allow_none=True)
    steps = fields.Dict(required=True)
