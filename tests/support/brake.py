"""The failed-key brake of an app under test, at another limit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from opscore.api.security import FailureBrake

NEVER = 10**9  # a limit no test reaches: failed keys are answered 401, never braked


def brake_at(app: Any, limit: int) -> FailureBrake:
    """Give `app` a brake like its own but braking past `limit` failures; that brake."""
    brake = replace(app.extensions["opscore.brake"], limit=limit)
    app.extensions["opscore.brake"] = brake
    return brake
