"""Marshmallow schemas of the task endpoints: claims, heartbeats, reports, listings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..runs import TaskState
from ..runs.tasks import MAX_WAIT
from ..services.validation import MESSAGE_MAX
from ..tasks import ERROR_NAME, ERROR_NAME_MAX
from .schemas import MachineRefSchema, StrictSchema, instance_id, length

LEASE_TOKEN = fields.String(
    validate=length(200, 1), metadata={"description": "The token the claim answered with."}
)


class TaskQuerySchema(StrictSchema):
    """Filters of the task list."""

    capability = fields.String(validate=length(64, 1))
    state = fields.String(validate=validate.OneOf(tuple(TaskState)))
    agent_id = instance_id(metadata={"description": "Tasks this agent holds or is named for."})


class ClaimSchema(StrictSchema):
    """Who claims a task: the agent, and the capabilities it offers."""

    agent_id = instance_id(required=True, metadata={"description": "The agent claiming."})
    wait = fields.Float(
        load_default=0.0,
        validate=validate.Range(0, MAX_WAIT),
        metadata={
            "description": f"Seconds to wait for a task when none is there (0 to {MAX_WAIT:g})."
        },
    )


class LeaseSchema(StrictSchema):
    """The lease token a claim answered, sent with every later report."""

    lease_token = fields.String(required=True, validate=length(200, 1))


class TaskCompleteSchema(StrictSchema):
    """A task's success report: its lease token and output."""

    lease_token = fields.String(
        validate=length(200, 1),
        metadata={"description": "Required but for input steps, which no agent claims."},
    )
    output = fields.Raw(load_default=None, allow_none=True)


class TaskFailSchema(StrictSchema):
    """A task's failure report: its lease token and an error name retriers and catchers match."""

    lease_token = fields.String(validate=length(200, 1))
    error = fields.String(
        required=True,
        validate=[
            length(ERROR_NAME_MAX, 1),
            validate.Regexp(ERROR_NAME, error="letters, digits, _ and ., starting with a letter"),
        ],
    )
    message = fields.String(load_default="", validate=length(MESSAGE_MAX))


class TaskSchema(Schema):
    """A task: a step handed to agents, its state, lease and parameters."""

    id = fields.String(required=True)
    run_id = fields.String(required=True)
    workflow = fields.Nested(MachineRefSchema, required=True)
    step = fields.String(required=True)
    attempt = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(tuple(TaskState)))
    capability = fields.String(required=True, allow_none=True)
    agent_id = fields.String(
        required=True, allow_none=True, metadata={"description": "Its holder, or the agent named."}
    )
    params = fields.Dict(required=True, metadata={"description": "What the task asks."})
    lease_expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    heartbeat_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    waiting_since = fields.String(required=True, metadata={"format": "date-time"})


class ClaimedTaskSchema(TaskSchema):
    """A task just claimed, with the lease token to report with."""

    lease_token = fields.String(
        required=True, metadata={"description": "Send it with every heartbeat and report."}
    )
    lease_seconds = fields.Float(
        required=True,
        metadata={"description": "How long the lease lasts after each heartbeat."},
    )
