"""Push to agents: an agent registered with an endpoint gets the tasks offered to it POSTed
there, signed with its own secret, retried with backoff, and listed as undeliverable once
its attempts are spent. The agent answers later through the task's complete or fail.

Only tasks for one named agent are pushed (a step bound to the agent, or naming it); a
capability task is left for any able agent to claim (docs/push.md says why).
"""

from __future__ import annotations

import http.client
import json
import secrets
from collections.abc import Callable
from dataclasses import replace

from loguru import logger

from ..clock import Clock
from ..config import DEFAULT_PUSH_ATTEMPTS
from ..errors import InvalidRequest, TaskNotFound
from ..model import Instance
from ..runs import Task, TaskService
from ..runs.planner import task_id as task_id_of
from ..runs.task_json import task_json
from ..store.push import Delivery, DeliveryStatus, PushBook, PushTarget
from ..store.work import WorkItem, WorkQueue
from .outbound import Outbound, OutboundPolicy, Refused
from .signing import sign

FIRST_RETRY = 1.0  # seconds before the second attempt; each later wait doubles
LONGEST_WAIT = 60.0  # seconds, the most any wait between attempts lasts
SECRET_BYTES = 32
TIMESTAMP_HEADER = "X-OpsCore-Timestamp"
SIGNATURE_HEADER = "X-OpsCore-Signature"


def backoff(attempts: int) -> float:
    """Seconds to wait after `attempts` failed attempts."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


class PushService:
    """Push targets (endpoint and secret per agent) and deliveries of their tasks."""

    def __init__(
        self,
        tasks: TaskService,
        book: PushBook,
        queue: WorkQueue,
        clock: Clock,
        outbound: Outbound,
        attempts: int = DEFAULT_PUSH_ATTEMPTS,
    ) -> None:
        self.tasks = tasks
        self.book = book
        self.queue = queue
        self.clock = clock
        self.outbound = outbound
        self.attempts = attempts

    @property
    def policy(self) -> OutboundPolicy:
        """Which endpoints may be called."""
        return self.outbound.policy

    # ---- registering -----------------------------------------------------------------------

    def register(
        self, endpoint: str | None, register: Callable[[str | None], Instance]
    ) -> tuple[Instance, str | None]:
        """Register an agent through `register` (given the secret its answer shows) and,
        with an endpoint, its push target; (agent, secret). A refused endpoint is a 422 and
        registers nothing."""
        if endpoint is None:
            return register(None), None
        self.check_endpoint(endpoint)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        agent = register(secret)
        self.book.put_target(PushTarget(agent.id, endpoint, secret, self.clock.now()))
        return agent, secret

    def check_endpoint(self, endpoint: str) -> None:
        """InvalidRequest (422) naming why, unless the policy lets `endpoint` be called."""
        try:
            self.policy.check_url(endpoint)
        except Refused as refused:
            raise InvalidRequest(f"endpoint: {refused}", "endpoint") from None

    def forget(self, agent_id: str) -> None:
        """The agent is gone: its tasks are no longer pushed."""
        self.book.drop_target(agent_id)

    def pushes_to(self, agent_id: str) -> bool:
        """Whether the agent's tasks are pushed to it."""
        return self.book.target(agent_id) is not None

    def endpoint_of(self, agent_id: str) -> str | None:
        """Where the agent's tasks are pushed (None: it pulls them)."""
        target = self.book.target(agent_id)
        return target.endpoint if target is not None else None

    # ---- delivering ------------------------------------------------------------------------

    def deliveries(self, status: DeliveryStatus | None = None, limit: int = 100) -> list[Delivery]:
        """Deliveries (with `status`), most recently changed first."""
        return self.book.deliveries(status, limit)

    def deliver(self, item: WorkItem) -> None:
        """One attempt at pushing the task `item` names: held for its agent, signed, POSTed.
        A failure queues the next attempt, after a backoff, until the attempts are spent."""
        task_id = task_id_of(item.run_id, item.step, item.attempt)
        earlier = self.book.delivery(task_id)
        if earlier is not None and earlier.status != DeliveryStatus.PENDING:
            return  # settled already: a repeated work item
        try:
            agent_id = self.tasks.get(task_id).record.agent_id or ""
        except TaskNotFound:
            return  # answered, timed out or cancelled meanwhile: nothing to push
        attempts = (earlier.attempts if earlier else 0) + 1
        target = self.book.target(agent_id)
        delivery = Delivery(
            task_id, item.run_id, item.step, agent_id, target.endpoint if target else "",
            DeliveryStatus.PENDING, attempts, None, self.clock.now(),
        )  # fmt: skip
        if target is None:
            self._settle(delivery, DeliveryStatus.UNDELIVERABLE, "the agent has no endpoint")
            return
        held = self.tasks.hold(task_id, agent_id)
        if held is None:
            return  # answered meanwhile
        error = self._post(target, *held, attempts)
        if error is None:
            self._settle(delivery, DeliveryStatus.DELIVERED, None)
        elif isinstance(error, Refused) or attempts >= self.attempts:
            self._settle(delivery, DeliveryStatus.UNDELIVERABLE, str(error))
        else:
            due = self.clock.now() + backoff(attempts)
            self.queue.offer([replace(item, due=due, id=None, redelivered=False)])
            self.book.save_delivery(replace(delivery, last_error=str(error)))

    def _post(self, target: PushTarget, task: Task, token: str, attempt: int) -> Exception | None:
        """POST the task to the target; None when it answered 2xx, else what went wrong."""
        body = json.dumps(task_json(task, token), separators=(",", ":")).encode()
        timestamp = str(int(self.clock.now()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "opscore-push",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(target.secret, timestamp, body),
            "X-OpsCore-Task": task.id,
            "X-OpsCore-Attempt": str(attempt),
        }
        try:
            status = self.outbound.post(target.endpoint, body, headers)
        except (Refused, OSError, http.client.HTTPException) as error:
            return (
                error if isinstance(error, Refused) else _Failed(f"{type(error).__name__}: {error}")
            )
        return None if 200 <= status < 300 else _Failed(f"the endpoint answered {status}")

    def _settle(self, delivery: Delivery, status: DeliveryStatus, error: str | None) -> None:
        self.book.save_delivery(replace(delivery, status=status, last_error=error))
        if status == DeliveryStatus.UNDELIVERABLE:
            logger.warning(
                "task {task} is undeliverable to agent {agent}: {error}",
                task=delivery.task_id,
                agent=delivery.agent_id,
                error=error,
            )


class _Failed(Exception):
    """An attempt that may be repeated: no answer, or a non-2xx one."""
