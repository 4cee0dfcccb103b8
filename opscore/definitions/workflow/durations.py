"""Durations written like `500ms`, `30s`, `5m`, `1h`."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_DURATION = 7 * 24 * 3600.0


def parse_duration(text: object) -> float:
    """Seconds in `text`; ValueError with a usable message otherwise."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError("a duration is a string such as 500ms, 30s, 5m or 1h")
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration (use 500ms, 30s, 5m or 1h)")
    seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    if seconds <= 0 or seconds > MAX_DURATION:
        raise ValueError(f"'{text}' must be more than 0 and at most 7 days")
    return seconds
