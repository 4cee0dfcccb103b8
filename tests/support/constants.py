"""Paths and keys the suites share."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINES = ROOT / "machines"
TEST_MACHINES = ROOT / "tests" / "machines"

API_KEY = "test-key"
AUTH = {"X-API-Key": API_KEY}

BROWSER_WAIT_SECONDS = 20  # how long a browser test waits for the page to show something
