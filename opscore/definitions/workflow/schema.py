"""Marshmallow schemas for the shape of `workflow` templates."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from ..fields import TEXT_MAX, Name, StrictSchema, name_validators
from .choice import condition_problems
from .durations import parse_duration

STEP_KINDS = ("task", "choice", "wait", "parallel", "map", "workflow", "input")
MAX_STEPS = 200  # steps in one template, its branches' and map bodies' included
MAX_BRANCHES = 32  # branches of one parallel step
MAX_CONCURRENCY = 100  # map items running at once: the default, and the most allowed
_ERROR_NAME = fields.String(validate=validate.Length(min=1, max=100))


def _check_step_count(steps: dict) -> None:
    if not 1 <= len(steps) <= MAX_STEPS:
        raise ValidationError(f"a workflow has 1 to {MAX_STEPS} steps; this one has {len(steps)}")


def _check_branch_count(branches: dict) -> None:
    if not 1 <= len(branches) <= MAX_BRANCHES:
        raise ValidationError(
            f"a parallel step has 1 to {MAX_BRANCHES} branches; this one has {len(branches)}"
        )


def _steps(**kwargs: Any) -> fields.Dict:
    """A flow's steps: each checked by StepSchema on its own, so problems say where they are."""
    return fields.Dict(
        keys=fields.String(validate=name_validators),
        values=fields.Raw(),
        validate=_check_step_count,
        **kwargs,
    )


class Duration(fields.Field):
    """`500ms`, `30s`, `5m`, `1h`, loaded as seconds."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        try:
            return parse_duration(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class RetrierSchema(StrictSchema):
    errors = fields.List(_ERROR_NAME, required=True, validate=validate.Length(min=1))
    interval = Duration(load_default=1.0)
    backoff_rate = fields.Float(load_default=2.0, validate=validate.Range(min=1.0, max=100.0))
    max_attempts = fields.Integer(
        strict=True, load_default=3, validate=validate.Range(min=0, max=100)
    )
    max_delay = Duration(load_default=None)
    jitter = fields.String(load_default="none", validate=validate.OneOf(("full", "none")))


class CatcherSchema(StrictSchema):
    errors = fields.List(_ERROR_NAME, required=True, validate=validate.Length(min=1))
    next = Name(required=True)


class Condition(fields.Dict):
    """A choice condition; its shape is checked by `condition_problems`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        value = super()._deserialize(value, attr, data, **kwargs)
        problems = condition_problems(value)
        if problems:
            raise ValidationError(problems)
        return value


class ChoiceRuleSchema(StrictSchema):
    when = Condition(required=True)
    next = Name(required=True)


class FlowSchema(StrictSchema):
    """A branch of a parallel step: where it starts and its steps."""

    start = Name(required=True)
    steps = _steps(required=True)


class ParallelSchema(StrictSchema):
    branches = fields.Dict(
        keys=fields.String(validate=name_validators),
        values=fields.Raw(),
        required=True,
        validate=_check_branch_count,
    )


class MapSchema(StrictSchema):
    items = fields.String(required=True, validate=validate.Length(min=2, max=TEXT_MAX))
    max_concurrency = fields.Integer(strict=True, validate=validate.Range(1, MAX_CONCURRENCY))
    start = Name(required=True)
    steps = _steps(required=True)


class AgentEventsSchema(StrictSchema):
    """The events a capability task fires on the agent that claims it, and when it reports."""

    claim = Name(allow_none=True, load_default="activate")
    complete = Name(allow_none=True, load_default="complete")
    fail = Name(allow_none=True, load_default="fail")


class InputSchema(StrictSchema):
    """An input step: what the answer must look like (JSON Schema), and how long to wait."""

    schema = fields.Dict(keys=fields.String(), load_default=dict)
    timeout = Duration()


class StepSchema(StrictSchema):
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    task = Name()
    params = fields.Dict(keys=fields.String(), load_default=dict)
    next = Name()
    timeout = Duration()
    retry = fields.List(fields.Nested(RetrierSchema), load_default=list)
    catch = fields.List(fields.Nested(CatcherSchema), load_default=list)
    choice = fields.List(fields.Nested(ChoiceRuleSchema))  # empty: `default` always
    default = Name()
    wait = Duration()
    parallel = fields.Nested(ParallelSchema)
    map = fields.Nested(MapSchema)
    workflow = Name()
    input = fields.Dict(keys=fields.String())  # a child workflow's input, or an input step
    capability = fields.String(validate=validate.Length(min=1, max=64))
    lease = Duration()
    agent_events = fields.Nested(AgentEventsSchema)

    @validates_schema(pass_original=True)
    def one_kind(self, data: dict, original: Any, **_: Any) -> None:
        """A step is exactly one kind, with only the fields that kind uses."""
        kinds = [kind for kind in STEP_KINDS if kind in data]
        if "workflow" in kinds and "input" in kinds:
            kinds.remove("input")  # a workflow step's `input` is its child's
        if len(kinds) != 1:
            raise ValidationError(f"a step needs exactly one of: {', '.join(STEP_KINDS)}")
        kind = kinds[0]
        if kind != "choice" and "next" not in data:
            raise ValidationError("Missing data for required field.", "next")
        if kind == "choice" and not data["choice"] and "default" not in data:
            raise ValidationError("a choice step needs a rule or a default", "choice")
        allowed = _FIELDS_OF[kind] | {"description"}
        misplaced = sorted(set(original) - allowed) if isinstance(original, dict) else []
        if misplaced:
            raise ValidationError(f"a {kind} step cannot have: {', '.join(misplaced)}")


_HANDLED = {"next", "timeout", "retry", "catch"}  # a step that can fail, and be retried
_FIELDS_OF = {
    "task": {"task", "params", "capability", "lease", "agent_events", *_HANDLED},
    "choice": {"choice", "default"},
    "wait": {"wait", "next"},
    "parallel": {"parallel", *_HANDLED},
    "map": {"map", *_HANDLED},
    "workflow": {"workflow", "input", *_HANDLED},
    "input": {"input", "next", "retry", "catch"},
}


class AgentBindingSchema(StrictSchema):
    on_start = Name()
    on_success = Name()
    on_failure = Name()
    on_cancel = Name()


class WorkflowSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.Equal("workflow"))
    name = Name(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    input = fields.Dict(keys=fields.String())
    timeout = Duration()
    agent = fields.Nested(AgentBindingSchema)
    start = Name(required=True)
    steps = _steps(required=True)
