"""Requests that carry an Idempotency-Key: their first answer is stored with the change it made."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import IdempotencyRecord

# result of the service call -> (HTTP-like status, JSON body, headers to replay)
Render = Callable[[Any], tuple[int, Any, Mapping[str, str]]]


@dataclass(frozen=True)
class IdempotentRequest:
    """A write sent with an Idempotency-Key; `render` turns its result into the answer to keep."""

    key: str
    fingerprint: str
    render: Render = field(compare=False)

    def record(self, result: Any, now: float) -> IdempotencyRecord:
        """The record to commit together with the change `result` describes."""
        status, body, headers = self.render(result)
        return IdempotencyRecord(self.key, self.fingerprint, status, body, now, dict(headers))
