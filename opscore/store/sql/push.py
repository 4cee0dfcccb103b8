"""Push targets, deliveries and webhook receipts in the SQL database (every process sees
them; a receipt is recorded once across all of them)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..push import DELIVERIES_KEPT, Delivery, DeliveryStatus, PushTarget
from .engine import reading, writing
from .schema import push_deliveries, push_targets, webhook_receipts

SETTLED = (DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERABLE)


class SqlPushBook:
    """The PushBook of the SQL store; each call is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_target(self, target: PushTarget) -> None:
        """Set (or replace) the agent's push target."""
        with writing(self.engine) as conn:
            conn.execute(delete(push_targets).where(push_targets.c.agent_id == target.agent_id))
            conn.execute(
                insert(push_targets).values(
                    agent_id=target.agent_id,
                    endpoint=target.endpoint,
                    secret=target.secret,
                    created_at=target.created_at,
                )
            )

    def target(self, agent_id: str) -> PushTarget | None:
        """The agent's push target, if it has one."""
        with reading(self.engine) as conn:
            row = conn.execute(
                select(push_targets).where(push_targets.c.agent_id == agent_id)
            ).first()
        if row is None:
            return None
        return PushTarget(row.agent_id, row.endpoint, row.secret, row.created_at)

    def drop_target(self, agent_id: str) -> None:
        """Forget the agent's push target."""
        with writing(self.engine) as conn:
            conn.execute(delete(push_targets).where(push_targets.c.agent_id == agent_id))

    def save_delivery(self, delivery: Delivery) -> None:
        """Write the task's delivery; a new one also forgets settled ones past their time."""
        values = _delivery_row(delivery)
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(push_deliveries)
                .where(push_deliveries.c.task_id == delivery.task_id)
                .values(values)
            )
            if changed.rowcount:
                return
            conn.execute(insert(push_deliveries).values(task_id=delivery.task_id, **values))
            conn.execute(
                delete(push_deliveries).where(
                    push_deliveries.c.status.in_([str(s) for s in SETTLED]),
                    push_deliveries.c.updated_at < delivery.updated_at - DELIVERIES_KEPT,
                )
            )

    def delivery(self, task_id: str) -> Delivery | None:
        """The task's delivery, if it has one."""
        with reading(self.engine) as conn:
            row = conn.execute(
                select(push_deliveries).where(push_deliveries.c.task_id == task_id)
            ).first()
        return None if row is None else _delivery(row)

    def deliveries(self, status: DeliveryStatus | None = None, limit: int = 100) -> list[Delivery]:
        """Deliveries (with `status`), most recently changed first."""
        query = select(push_deliveries).order_by(push_deliveries.c.updated_at.desc()).limit(limit)
        if status is not None:
            query = query.where(push_deliveries.c.status == str(status))
        with reading(self.engine) as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def receive_once(self, key: str, now: float, keep: float) -> bool:
        """Record receipt `key` until `now + keep`: False if it is already recorded."""
        try:
            with writing(self.engine) as conn:
                conn.execute(delete(webhook_receipts).where(webhook_receipts.c.until <= now))
                conn.execute(insert(webhook_receipts).values(key=key, until=now + keep))
        except IntegrityError:  # recorded, and not yet expired: a replay
            return False
        return True


def _delivery_row(delivery: Delivery) -> dict[str, Any]:
    """The columns of a delivery but its key."""
    row = asdict(delivery)
    del row["task_id"]
    row["status"] = str(delivery.status)
    row["last_error"] = None if delivery.last_error is None else delivery.last_error[:1000]
    return row


def _delivery(row: Any) -> Delivery:
    values = dict(row._mapping)
    return Delivery(**{**values, "status": DeliveryStatus(values["status"])})
