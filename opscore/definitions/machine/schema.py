"""Marshmallow schemas for the shape of `agent` and `session` machine definitions."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate

from ...names import NAME_RULE, is_name
from ..fields import NAME_MAX, TEXT_MAX, Flag, Name, NameList, StrictSchema
from ..workflow.schema import Duration

MACHINE_KINDS = ("agent", "session", "workflow")


class StateSchema(StrictSchema):
    name = Name(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    tags = fields.List(fields.String(validate=validate.Length(max=NAME_MAX)), load_default=list)
    final = Flag(load_default=False)
    on_enter = NameList(load_default=list)
    on_exit = NameList(load_default=list)


class SourceField(fields.Field):
    """A state name, a list of state names, or "*" for every non-final state."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise ValidationError('must be a state name, a non-empty list of them, or "*"')
        for k, item in enumerate(values):
            if not isinstance(item, str) or not item:
                raise ValidationError("every source must be a state name")
            if item != "*" and not is_name(item):
                raise ValidationError({k: [NAME_RULE]} if len(values) > 1 else NAME_RULE)
        return values


class TransitionSchema(StrictSchema):
    trigger = Name(required=True)
    source = SourceField(required=True)
    dest = Name(required=True)
    conditions = NameList(load_default=list)
    unless = NameList(load_default=list)
    before = NameList(load_default=list)
    after = NameList(load_default=list)
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))


class HeartbeatSchema(StrictSchema):
    """`heartbeat: {every: 30s, missed: lose}`: an agent silent for `every` gets `missed`."""

    every = Duration(required=True)
    missed = Name(required=True)


class MachineSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(("agent", "session")))
    name = Name(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    initial = Name(required=True)
    states = fields.List(fields.Nested(StateSchema), required=True, validate=validate.Length(min=1))
    transitions = fields.List(fields.Nested(TransitionSchema), load_default=list)
    heartbeat = fields.Nested(HeartbeatSchema, load_default=None)

    @pre_load
    def expand_state_shorthand(self, data: Any, **_: Any) -> Any:
        """Allow `states: [idle, active]` as shorthand for `[{name: idle}, {name: active}]`."""
        if isinstance(data, dict) and isinstance(data.get("states"), list):
            states = [{"name": s} if isinstance(s, str) else s for s in data["states"]]
            data = {**data, "states": states}
        return data
