"""Newer versions of machines, for the upgrade suites: agent v2 (it calls `active`
`working`), and both versions of the workflow `release` (v2 checks before it ships, and
calls `publish` `ship`)."""

from __future__ import annotations

from .constants import MACHINES, TEST_MACHINES

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
