"""Workflow templates: every broken one is reported at its place; the shipped ones load."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from opscore.cli import main
from opscore.definitions import load_file, load_text
from opscore.definitions.workflow import template as template_module
from opscore.tasks.builtin import builtin_tasks
from tests.support.constants import MACHINES, ROOT, TEST_MACHINES

INVALID = TEST_MACHINES / "invalid_workflows"
EXPECTED = {
    "all_not_alone.yaml": "14: steps.second.retry[0].errors: ALL must stand alone, in the last "
    "retry rule",
    "branch_next_outside.yaml": "12: steps.fan_out.parallel.branches.one.steps.a.next: 'merge' "
    "is outside this branch: a branch ends with `succeeded` or `failed`, and its step's own "
    "`next` goes on",
    "branch_unknown_start.yaml": "9: steps.each.map.start: unknown step 'summarise'",
    "item_outside_map.yaml": "8: steps.first.params.doc: '$.item' exists only inside a map "
    "step's steps",
    "map_concurrency_zero.yaml": "9: steps.each.map.max_concurrency: Must be greater than or "
    "equal to 1 and less than or equal to 100.",
    "nested_too_deep.yaml": "21: steps.one.map.steps.two.map.steps.three.map.steps.four: "
    "parallel and map steps nest at most 3 deep",
    "parallel_without_next.yaml": "6: steps.fan_out.next: Missing data for required field.",
    "sibling_branch_reference.yaml": "16: steps.fan_out.parallel.branches.two.steps.b.params."
    "seen: '$.steps.a.output' names no step this branch can see",
    "workflow_starts_itself.yaml": "7: steps.again.workflow: workflow 'workflow_starts_itself' "
    "cannot start itself as a child",
    "backoff_rate_below_one.yaml": "15: steps.second.retry[0].backoff_rate: Must be greater than "
    "or equal to 1.0 and less than or equal to 100.0.",
    "bad_duration.yaml": "15: steps.second.retry[0].interval: 'soon' is not a duration "
    "(use 500ms, 30s, 5m or 1h)",
    "catch_all_not_last.yaml": "9: steps.risky.catch[0].errors: ALL must stand alone, in the "
    "last catch rule",
    "empty_choice_without_default.yaml": "7: steps.pick.choice: a choice step needs a rule or "
    "a default",
    "choice_bad_operator.yaml": "8: steps.pick.choice[0].when: unknown operator(s): bigger_than "
    "(use equals, not_equals, in, exists, greater_than, "
    "greater_or_equal, less_than, less_or_equal)",
    "http_without_url.yaml": "11: steps.second.params: task 'http' needs the parameter 'url'",
    "input_schema_invalid.yaml": "5: input.type: not a valid JSON Schema: 'objekt' is not valid "
    "under any of the given schemas",
    "negative_max_attempts.yaml": "15: steps.second.retry[0].max_attempts: Must be greater than "
    "or equal to 0 and less than or equal to 100.",
    "reference_bad_root.yaml": "12: steps.second.params.url: '$.inputs.url' must start with one "
    "of: $.input, $.steps, $.run, $.error, $.item, $.index",
    "reference_to_unknown_step.yaml": "12: steps.second.params.url: '$.steps.third.output' names "
    "no step of this workflow",
    "reserved_step_name.yaml": "6: steps.failed: 'failed' is a reserved state; name the step "
    "otherwise",
    "task_and_wait.yaml": "6: steps.first: a step needs exactly one of: task, choice, wait, "
    "parallel, map, workflow, input",
    "task_with_default.yaml": "6: steps.first: a task step cannot have: default",
    "unknown_jitter.yaml": "15: steps.second.retry[0].jitter: Must be one of: full, none.",
    "unknown_next.yaml": "8: steps.first.next: unknown step 'secnd'",
    "unknown_start.yaml": "4: start: unknown step 'zeroth'",
    "unknown_task_type.yaml": "7: steps.first.task: unknown task type 'teleport'",
    "unreachable_step.yaml": "9: steps.second: unreachable step 'second' (no path from 'first')",
}


# A problem in a field no check reads (a name, a description) hides none of the flow's.
TOGETHER = {
    "bad_name_hides_no_unknown_next.yaml": [
        "2: name: must start with a letter and use only letters, digits, _ and -",
        "7: steps.first.description: Not a valid string.",
        "9: steps.first.next: unknown step 'secnd'",
    ],
}


def test_every_broken_template_has_an_expectation():
    assert sorted(p.name for p in INVALID.iterdir()) == sorted([*EXPECTED, *TOGETHER])


@pytest.mark.parametrize(("name", "expected"), sorted(TOGETHER.items()))
def test_a_field_problem_and_the_flow_problems_are_reported_together(callbacks, name, expected):
    result = load_file(INVALID / name, callbacks, task_types=builtin_tasks())
    assert result.definition is None
    assert [str(p) for p in result.problems] == [f"{INVALID / name}:{e}" for e in expected]


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_broken_template_reports_one_problem_at_its_place(callbacks, name, expected):
    result = load_file(INVALID / name, callbacks, task_types=builtin_tasks())
    assert result.definition is None
    assert [str(p) for p in result.problems] == [f"{INVALID / name}:{expected}"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_check_of_a_broken_template_exits_1(name):
    result = CliRunner().invoke(main, ["machines", "check", str(INVALID / name)])
    assert (result.exit_code, result.output) == (1, f"{INVALID / name}:{EXPECTED[name]}\n")


@pytest.mark.parametrize("name", ["fetch_report.yaml", "review_document.yaml"])
def test_shipped_templates_load_as_run_machines(callbacks, name):
    result = load_file(MACHINES / "workflows" / name, callbacks, task_types=builtin_tasks())
    definition = result.definition
    assert result.problems == []
    assert definition.kind == "workflow"
    assert {"succeeded", "failed", "cancelled"} <= set(definition.state_names)
    assert definition.final_states == {"succeeded", "cancelled"}
    assert definition.workflow.start == definition.initial


def test_run_machine_events_follow_the_template(callbacks):
    definition = load_file(MACHINES / "workflows" / "fetch_report.yaml", callbacks).definition
    assert definition.allowed_events("fetch") == (
        "succeed",
        "catch_record_outage",
        "fail",
        "cancel",
    )
    assert definition.allowed_events("give_up") == (
        "choose_succeeded",
        "choose_failed",
        "fail",
        "cancel",
    )
    assert definition.allowed_events("failed") == tuple(
        f"redrive_{s}" for s in ("fetch", "summarize", "record_outage", "give_up")
    )


def steps_text(count: int) -> str:
    """A workflow of `count` noop steps in a row."""
    steps = "".join(
        f"  s{i}: {{task: noop, next: {f's{i + 1}' if i + 1 < count else 'succeeded'}}}\n"
        for i in range(count)
    )
    return f"kind: workflow\nname: long\nversion: 1\nstart: s0\nsteps:\n{steps}"


def test_template_with_more_than_200_steps_is_a_problem_naming_the_limit(callbacks):
    result = load_text(steps_text(201), "long.yaml", callbacks, task_types=builtin_tasks())
    assert result.definition is None
    assert [str(p) for p in result.problems] == [
        "long.yaml:5: steps: a workflow has 1 to 200 steps; this one has 201"
    ]


def test_template_with_200_steps_loads(callbacks):
    result = load_text(steps_text(200), "long.yaml", callbacks, task_types=builtin_tasks())
    assert result.problems == []


def test_the_branch_example_in_the_workflows_docs_loads(callbacks):
    docs = (ROOT / "docs" / "workflows.md").read_text()
    section = docs.split("## Branches", 1)[1]
    example = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    kinds = []
    for name, step in example.items():  # each step is an example of its own kind
        steps = {name: step, "merge": {"task": "noop", "next": "succeeded"}}
        text = json.dumps(
            {"kind": "workflow", "name": name, "version": 1, "start": name, "steps": steps}
        )
        result = load_text(text, f"{name}.json", callbacks, task_types=builtin_tasks())
        assert result.problems == []
        kinds.append(result.definition.workflow.steps[name].kind)
    assert kinds == ["parallel", "map", "workflow"]


MAPPED = """
kind: workflow
name: mapped
version: 1
start: each
steps:
  each:
    map:
      items: $.input.items
      start: touch
      steps:
        touch: {task: noop, next: succeeded}
    next: succeeded
"""


def test_step_paths_resolve_past_the_remembered_ones_and_unknown_ones_raise(callbacks, monkeypatch):
    monkeypatch.setattr(template_module, "PATHS_KEPT", 1)
    result = load_text(MAPPED, "mapped.yaml", callbacks, task_types=builtin_tasks())
    workflow = result.definition.workflow

    found = [workflow.step(f"each/{index}/touch") for index in (0, 1, 0, 1)]

    assert [(step.name, step.task) for step in found] == [("touch", "noop")] * 4
    with pytest.raises(KeyError):
        workflow.step("each/0/nosuch")
    with pytest.raises(KeyError):
        workflow.step("each/0/nosuch")  # a failed lookup is not remembered as found
