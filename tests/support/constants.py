"""Paths and keys the suites share."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINES = ROOT / "machines"
TEST_MACHINES = ROOT / "tests" / "machines"
# Two versions of the workflow `release`, for the upgrade suites.
RELEASE_V1, RELEASE_V2 = (TEST_MACHINES / "upgrades" / f"release_v{n}.yaml" for n in (1, 2))

API_KEY = "test-key"
AUTH = {"X-API-Key": API_KEY}

BROWSER_WAIT_SECONDS = 20  # how long a browser test waits for the page to show something
