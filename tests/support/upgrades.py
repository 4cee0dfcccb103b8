"""Newer versions of machines, for the upgrade suites: agent v2 (it calls `active`
`working`), and both versions of the workflow `release` (v2 checks before it ships, and
calls `publish` `ship`)."""

from __future__ import annotations

from typing import Any

from .constants import MACHINES, TEST_MACHINES
from .polling import poll_until

AGENT_V2 = (
    (MACHINES / "agent.yaml")
    .read_text()
    .replace("version: 1", "version: 2")
    .replace("name: active", "name: working")
    .replace("source: active", "source: working")
    .replace("dest: active", "dest: working")
    .replace("[idle, active, paused]", "[idle, working, paused]")
)
RELEASE_V1, RELEASE_V2 = (
    (TEST_MACHINES / "upgrades" / f"release_v{n}.yaml").read_text() for n in (1, 2)
)


def approving_release(api: Any) -> dict[str, Any]:
    """Through the client `api`: a run of `release` v1 waiting for its approval, with v2
    stored beside it."""
    api.machines.put("release", RELEASE_V1)
    run = api.runs.start("release")
    api.machines.put("release", RELEASE_V2)
    poll_until(lambda: api.tasks.list(state="input-required"), what="the approval task")
    return run
