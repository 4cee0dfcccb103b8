"""Marshmallow schemas of push to agents: a registration's answer, deliveries, AgentKit's
webhook."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..push.agentkit import AgentKitEventType
from ..push.outbound import URL_MAX
from ..services.validation import MAX_CAPABILITIES
from ..services.validation import NAME_MAX as DISPLAY_NAME_MAX
from ..store.push import DeliveryStatus
from .schemas import (
    AgentSchema,
    StrictSchema,
    capability_name,
    instance_id,
    json_object,
    length,
    printable,
)

ENDPOINT = {
    "description": "Push the agent's tasks here (an `https://` URL on a host "
    "OPSCORE_PUSH_ALLOWED_HOSTS allows; docs/push.md)."
}


def endpoint_field(**kwargs) -> fields.String:
    """An agent's push endpoint."""
    return fields.String(validate=length(URL_MAX, 1), metadata=ENDPOINT, **kwargs)


class RegisteredAgentSchema(AgentSchema):
    """An agent just registered; with an endpoint, its push secret, shown only here."""

    push_secret = fields.String(
        metadata={
            "description": "Only when the agent gave an endpoint, and only in this answer: "
            "the key of the HMAC-SHA256 `X-OpsCore-Signature` on its pushed tasks."
        }
    )


class DeliveryQuerySchema(StrictSchema):
    """Which deliveries to list."""

    status = fields.String(validate=validate.OneOf(tuple(DeliveryStatus)))


class DeliverySchema(Schema):
    """One task's push to its agent's endpoint: where it stands, how often it was tried."""

    task_id = fields.String(required=True)
    run_id = fields.String(required=True)
    step = fields.String(required=True)
    agent_id = fields.String(required=True)
    endpoint = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(tuple(DeliveryStatus)))
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


class AgentKitAgentSchema(StrictSchema):
    """The agent an AgentKit webhook registers or deregisters."""

    id = instance_id(required=True)
    name = fields.String(validate=[length(DISPLAY_NAME_MAX), printable], allow_none=True)
    capabilities = fields.List(
        capability_name(), validate=length(MAX_CAPABILITIES, unit="items"), load_default=list
    )
    metadata = json_object(load_default=dict)
    endpoint = endpoint_field(allow_none=True)


class AgentKitEventSchema(StrictSchema):
    """AgentKit's registration webhook: REGISTER or DEREGISTER an agent."""

    type = fields.String(required=True, validate=validate.OneOf(tuple(AgentKitEventType)))
    agent = fields.Nested(AgentKitAgentSchema, required=True)
