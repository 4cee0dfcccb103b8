"""Runs drawn on their template's own flow: parallel and map steps as frames around their
branches, with where each branch or item is; no cancel, fail or redrive edges."""

from __future__ import annotations

import pytest

from tests.support.branch_templates import EACH, FAN_OUT
from tests.support.polling import poll_until
from tests.support.workflows import finished


def classes(diagram: str) -> dict[str, str]:
    """State id -> its style class."""
    return {
        line.split()[1]: line.split()[2]
        for line in diagram.splitlines()
        if line.startswith("  class ")
    }


@pytest.fixture
def picky_each(workflow_core, add_template, tasks):
    """`each` over docs, refusing doc 'c' (Picky.Refused)."""
    from opscore.tasks import TaskError

    def picky(ctx):
        if ctx.params["doc"] == "c":
            raise TaskError("Picky.Refused", "not c")
        return dict(ctx.params)

    tasks.task("picky")(picky)
    add_template(
        EACH.replace("{task}", "picky").replace("max_concurrency: 2", "max_concurrency: 1")
    )


def test_a_template_is_drawn_without_cancel_fail_or_redrive_edges(workflow_core):
    drawn = workflow_core.runs.diagram_of_template("review_document")
    assert "cancel" not in drawn
    assert "redrive" not in drawn
    assert ": fail" not in drawn
    assert "  decide --> request_changes: default" in drawn


def test_a_parallel_step_is_a_frame_with_a_region_per_branch(workflow_core, add_template):
    add_template(FAN_OUT)
    drawn = workflow_core.runs.diagram_of_template("fan")
    assert "  state fan_out {" in drawn
    assert "    state fan_out__research {" in drawn
    assert "    state fan_out__outline {" in drawn
    assert "    --" in drawn
    assert "      fan_out__research__search --> fan_out__research__rank" in drawn


def test_a_run_diagram_says_how_many_items_are_done_and_marks_the_failed_item_flow(
    workflow_core, picky_each
):
    run = workflow_core.runs.start("each", {"docs": list("abcde")})
    poll_until(lambda: finished(workflow_core, run.id))
    drawn = workflow_core.runs.diagram(run.id)
    assert "  each_doc : each_doc: 2/5 done, 1 failed" in drawn
    assert classes(drawn)["each_doc__item__summarize"] == "s_failed"
    assert classes(drawn)["failed"] == "s_active"


def test_a_finished_parallel_runs_branch_steps_are_drawn_as_visited(workflow_core, add_template):
    add_template(FAN_OUT)
    run = workflow_core.runs.start("fan", {"topic": "bees"})
    poll_until(lambda: finished(workflow_core, run.id))
    styles = classes(workflow_core.runs.diagram(run.id))
    assert styles["fan_out__research__rank"] == "s_previous"
    assert styles["fan_out__outline__draft"] == "s_previous"
    assert styles["succeeded"] == "s_active"
