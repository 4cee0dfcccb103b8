"""`/v1/tasks` for agents: claim a task, keep its lease alive, report it; and `work`, the
loop an agent runs: claim, heartbeat in the background, call the handler, report."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .errors import Conflict, OpsCoreClientError
from .resources import JSON, Endpoints, _without_none
from .results import Resource
from .transport import path

MAX_WAIT = 20.0  # the longest claim the service holds open
HANDLER_FAILED = "Agent.HandlerFailed"  # what `work` reports when the handler raises


class Tasks(Endpoints):
    """Tasks: steps waiting for an agent (named, or any with a capability) or an answer."""

    def list(
        self,
        *,
        capability: str | None = None,
        state: str | None = None,
        agent_id: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> list[dict[str, Any]]:
        """Waiting tasks, filtered by capability, state and holder."""
        query = _without_none(capability=capability, state=state, agent_id=agent_id)
        return self._page(path("v1", "tasks"), query, page, page_size).items

    def get(self, task_id: str) -> Resource:
        """One task (404 once it no longer waits)."""
        return self._get(path("v1", "tasks", task_id))

    def claim(self, agent_id: str, *, wait: float = 0.0) -> Resource | None:
        """A task this agent may take, with its `lease_token`, or None when none came within
        `wait` seconds (at most 20; the request waits that long, plus a margin)."""
        wait = min(max(wait, 0.0), MAX_WAIT)
        body = json.dumps({"agent_id": agent_id, "wait": wait}).encode()
        response = self._transport.request(
            "POST",
            path("v1", "tasks", "claim"),
            body=body,
            content_type=JSON,
            timeout=self._transport.timeout + wait,
        )
        return None if response.status == 204 else Resource.from_response(response)

    def heartbeat(self, task_id: str, lease_token: str) -> Resource:
        """Extend the lease (Conflict when it was lost: stop working on the task)."""
        return self._post(path("v1", "tasks", task_id, "heartbeat"), {"lease_token": lease_token})

    def complete(
        self, task_id: str, output: Any = None, *, lease_token: str | None = None
    ) -> Resource:
        """Report the task done with `output`; an input task needs no token."""
        body = _without_none(lease_token=lease_token) | {"output": output}
        return self._post(path("v1", "tasks", task_id, "complete"), body)

    def fail(
        self, task_id: str, error: str, message: str = "", *, lease_token: str | None = None
    ) -> Resource:
        """Report the task failed with an error name its step's retriers and catchers match."""
        body = _without_none(lease_token=lease_token) | {"error": error, "message": message}
        return self._post(path("v1", "tasks", task_id, "fail"), body)

    def work(
        self,
        agent_id: str,
        handler: Callable[[Mapping[str, Any]], Any],
        *,
        stop: threading.Event | None = None,
        wait: float = 10.0,
        heartbeat_every: float | None = None,
        max_tasks: int | None = None,
    ) -> int:
        """Work as `agent_id` until `stop` is set (or `max_tasks` are done): claim a task,
        call `handler(task)` while a thread heartbeats its lease, report its return value
        as the output (or the exception as Agent.HandlerFailed). Returns the tasks done.

        A lost lease (another agent now holds the task) is not reported over: the late
        report's 409 is swallowed, since the new holder's answer counts.
        """
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set() and (max_tasks is None or done < max_tasks):
            task = self.claim(agent_id, wait=wait)
            if task is None:
                continue
            self._carry_out(task, handler, heartbeat_every)
            done += 1
        return done

    def _carry_out(
        self,
        task: Mapping[str, Any],
        handler: Callable[[Mapping[str, Any]], Any],
        heartbeat_every: float | None,
    ) -> None:
        token = task["lease_token"]
        beating = _Heartbeat(self, task, heartbeat_every)
        beating.start()
        failure = output = None
        try:
            output = handler(task)
        except Exception as error:  # the handler's failure is the task's
            failure = f"{type(error).__name__}: {error}"
        finally:
            beating.stop()
        try:
            if failure is None:
                self.complete(task["id"], output, lease_token=token)
            else:
                self.fail(task["id"], HANDLER_FAILED, failure, lease_token=token)
        except Conflict:
            pass  # the lease was lost: another agent's report counts


class _Heartbeat:
    """Renews a task's lease at a third of its length until stopped or the lease is lost."""

    def __init__(self, tasks: Tasks, task: Mapping[str, Any], every: float | None) -> None:
        self.tasks = tasks
        self.task = task
        self.every = every or _third_of_lease(task)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opscore-task-heartbeat")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tasks.heartbeat(self.task["id"], self.task["lease_token"])
            except Conflict:
                return  # lost: stop renewing
            except OpsCoreClientError:
                continue  # a passing failure: the next beat may get through


def _third_of_lease(task: Mapping[str, Any]) -> float:
    """A third of the lease the claim granted (10 s when the answer does not say)."""
    return float(task.get("lease_seconds") or 30.0) / 3
