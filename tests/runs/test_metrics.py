"""What a run's commits tell the metrics: a step inside a map is one series, whatever the
number of its items (its path with `*` for the item)."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

from tests.support.branch_templates import EACH
from tests.support.polling import poll_until
from tests.support.workflows import finished

DURATION = "opscore_step_duration_seconds_count"


def _count(step: str) -> float:
    labels = {"workflow": "each", "step": step, "outcome": "succeeded"}
    return REGISTRY.get_sample_value(DURATION, labels) or 0.0


def _steps_labelled() -> set[str]:
    return {
        sample.labels["step"]
        for metric in REGISTRY.collect()
        if metric.name == "opscore_step_duration_seconds"
        for sample in metric.samples
        if sample.labels.get("workflow") == "each"
    }


def test_the_items_of_a_map_share_one_duration_series_per_step(workflow_core, add_template):
    add_template(EACH.replace("{task}", "noop"))
    before = _count("each_doc/*/summarize")

    run = workflow_core.runs.start("each", {"docs": ["a", "b", "c", "d", "e"]})
    poll_until(lambda: finished(workflow_core, run.id), what="the map run to end")
    # The worker counts an attempt just after its commit, so poll for the last one.
    poll_until(lambda: _count("each_doc/*/summarize") >= before + 5, what="5 items counted")

    assert _count("each_doc/*/summarize") == before + 5
    labelled = _steps_labelled()  # other tests' runs of an `each` workflow count here too
    assert "each_doc/*/summarize" in labelled
    assert not [step for step in labelled if re.search(r"/\d+(/|$)", step)]
