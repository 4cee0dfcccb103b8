"""Push records and the protocol the memory and SQL stores implement for them: where an
agent wants its tasks pushed (and the secret they are signed with), each task's delivery,
and the webhook receipts that make a replayed webhook recognisable."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

DELIVERIES_KEPT = 7 * 24 * 3600.0  # seconds a settled delivery stays listed


@dataclass(frozen=True)
class PushTarget:
    """Where an agent's tasks are pushed, and the secret that signs them (never shown)."""

    agent_id: str
    endpoint: str
    secret: str
    created_at: float

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"PushTarget(agent_id={self.agent_id!r}, endpoint={self.endpoint!r})"


class DeliveryStatus(StrEnum):
    """Where a task's push stands."""

    PENDING = "pending"  # attempts are left; the next one is queued
    DELIVERED = "delivered"  # the endpoint answered 2xx
    UNDELIVERABLE = "undeliverable"  # attempts ran out, or the endpoint may not be called


@dataclass(frozen=True)
class Delivery:
    """One task's push to its agent's endpoint."""

    task_id: str
    run_id: str
    step: str
    agent_id: str
    endpoint: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    updated_at: float


class PushBook(Protocol):
    """Push targets, deliveries and webhook receipts; every call is one atomic write."""

    def put_target(self, target: PushTarget) -> None:
        """Set (or replace) the agent's push target."""

    def target(self, agent_id: str) -> PushTarget | None:
        """The agent's push target, if it has one."""

    def drop_target(self, agent_id: str) -> None:
        """Forget the agent's push target (nothing if it has none)."""

    def save_delivery(self, delivery: Delivery) -> None:
        """Write the task's delivery (replacing an earlier one); forget settled ones older
        than DELIVERIES_KEPT."""

    def delivery(self, task_id: str) -> Delivery | None:
        """The task's delivery, if it has one."""

    def deliveries(self, status: DeliveryStatus | None = None, limit: int = 100) -> list[Delivery]:
        """Deliveries (with `status`), most recently changed first."""

    def receive_once(self, key: str, now: float, keep: float) -> bool:
        """Record receipt `key` for `keep` seconds: False if it was already recorded."""
