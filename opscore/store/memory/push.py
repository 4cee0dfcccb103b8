"""Push targets, deliveries and webhook receipts in memory (one process)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..push import DELIVERIES_KEPT, Delivery, DeliveryStatus, PushTarget

MAX_DELIVERIES = 100_000  # deliveries kept; past it the oldest settled ones go first
MAX_RECEIPTS = 100_000  # webhook receipts kept; past it the oldest go first


class MemoryPushBook:
    """The PushBook of the memory store; one lock makes each call atomic."""

    def __init__(self) -> None:
        self._targets: dict[str, PushTarget] = {}
        self._deliveries: OrderedDict[str, Delivery] = OrderedDict()
        self._receipts: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def put_target(self, target: PushTarget) -> None:
        """Set (or replace) the agent's push target."""
        with self._lock:
            self._targets[target.agent_id] = target

    def target(self, agent_id: str) -> PushTarget | None:
        """The agent's push target, if it has one."""
        return self._targets.get(agent_id)

    def drop_target(self, agent_id: str) -> None:
        """Forget the agent's push target."""
        with self._lock:
            self._targets.pop(agent_id, None)

    def save_delivery(self, delivery: Delivery) -> None:
        """Write the task's delivery; forget settled ones past their time or the bound."""
        with self._lock:
            self._deliveries.pop(delivery.task_id, None)
            self._deliveries[delivery.task_id] = delivery  # newest change last
            while self._deliveries:
                oldest = next(iter(self._deliveries.values()))
                expired = oldest.updated_at < delivery.updated_at - DELIVERIES_KEPT
                if not (expired or len(self._deliveries) > MAX_DELIVERIES):
                    break
                self._deliveries.popitem(last=False)

    def delivery(self, task_id: str) -> Delivery | None:
        """The task's delivery, if it has one."""
        return self._deliveries.get(task_id)

    def deliveries(self, status: DeliveryStatus | None = None, limit: int = 100) -> list[Delivery]:
        """Deliveries (with `status`), most recently changed first."""
        with self._lock:
            newest_first = list(reversed(self._deliveries.values()))
        return [d for d in newest_first if status is None or d.status == status][:limit]

    def receive_once(self, key: str, now: float, keep: float) -> bool:
        """Record receipt `key` until `now + keep`: False if it is already recorded."""
        with self._lock:
            while self._receipts:
                oldest_key, until = next(iter(self._receipts.items()))
                if until > now and len(self._receipts) < MAX_RECEIPTS:
                    break
                del self._receipts[oldest_key]
            if self._receipts.get(key, 0.0) > now:
                return False
            self._receipts[key] = now + keep
            return True
