"""The capability-routed template the task suites share, added to a running service's core."""

from __future__ import annotations

from opscore.definitions import load_text

ROUTED = """
kind: workflow
name: routed
version: 1
start: review
steps:
  review:
    {task: agent, capability: summarize, lease: 30s, params: {doc: $.input.doc}, next: succeeded}
"""


def add_routed(core, callbacks) -> None:
    """Load `routed` (any agent that can summarize takes its one step) into `core`."""
    result = load_text(ROUTED, "routed.yaml", callbacks, task_types=core.tasks)
    assert result.problems == []
    core.definitions.add(result.definition)
