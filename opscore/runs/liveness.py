"""Missed heartbeats: the one `missed` event per silence, and the silent agent's tasks back
to the queue.

An agent whose machine declares `heartbeat: {every, missed}` and stays silent for `every`
(see `opscore.services.liveness`) gets the `missed` event once, with `{reason:
heartbeat_missed, last_seen}`, and the tasks it holds go back to the queue.

Every process sweeps; "once" holds across them because the event is committed with an
idempotency record keyed by the agent and the silence: a second sweeper's commit of the
same silence is refused by the store, whichever process, whenever (a crash between the
event and the sweep's bookkeeping only means the next sweep finds the key taken).
"""

from __future__ import annotations

import hashlib
import threading

from loguru import logger

from ..errors import AgentNotFound, IdempotencyKeyTaken, TransitionError
from ..model import Instance
from ..services.agents import AgentService
from ..services.idempotency import IdempotentRequest
from ..store.liveness import Beat
from .task_json import timestamp
from .tasks import TaskService

MISSED_REASON = "heartbeat_missed"
SWEEP_EVERY = 1.0  # seconds between sweeps of each process
SWEEP_BATCH = 100  # overdue agents handled per sweep


class Sweeper:
    """Reports silences that have come due: the machine's `missed` event, once, and the
    agent's tasks back to the queue. `start` runs a sweep every SWEEP_EVERY seconds."""

    def __init__(
        self, agents: AgentService, tasks: TaskService, every: float = SWEEP_EVERY
    ) -> None:
        self.liveness = agents.liveness
        self.tasks = tasks
        self.every = every
        self.agents = agents
        self.lifecycle = agents.lifecycle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self, limit: int = SWEEP_BATCH) -> int:
        """Report every silence that has come due; the number of events fired."""
        fired = 0
        for beat in self.liveness.heartbeats.overdue(self.liveness.clock.now(), limit):
            try:
                fired += self._report(beat)
            except Exception:  # one agent's trouble must not stop the others' reports
                logger.exception("could not report agent {id}'s silence", id=beat.agent_id)
        return fired

    def start(self) -> None:
        """Sweep in a thread of its own until `stop`."""
        if self._thread is None:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="opscore-liveness", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.sweep()
            except Exception:  # the store may be away for a moment: sweep again later
                logger.exception("the heartbeat sweep failed")

    def _report(self, beat: Beat) -> bool:
        try:
            agent = self.agents.get(beat.agent_id)
        except AgentNotFound:
            self.liveness.heartbeats.forget(beat.agent_id)
            return False
        spec = self.lifecycle.engine.definition(agent).heartbeat
        fired = spec is not None and self._fire(agent, spec.missed, beat)
        self.tasks.release_held_by(agent.id)
        self.liveness.heartbeats.reported(agent.id, beat.last_seen)
        return fired

    def _fire(self, agent: Instance, event: str, beat: Beat) -> bool:
        if self.lifecycle.is_final(agent):
            return False
        key = _key(agent.id, beat.last_seen)
        if self.lifecycle.store.get_idempotency(key) is not None:
            return False  # another process reported this silence
        data = {"reason": MISSED_REASON, "last_seen": timestamp(beat.last_seen)}
        once = IdempotentRequest(key, key, lambda fired: (200, {"event": event}, {}))
        try:
            self.agents.fire_event(agent.id, event, data, idempotency=once)
        except IdempotencyKeyTaken:
            return False
        except TransitionError as error:
            logger.warning("agent {id} missed its heartbeat: {error}", id=agent.id, error=error)
            return False
        return True


def _key(agent_id: str, last_seen: float) -> str:
    """The idempotency key of one silence of one agent (fits the store's 64 characters)."""
    digest = hashlib.sha256(f"{agent_id}\n{last_seen!r}".encode()).hexdigest()
    return f"heartbeat-missed-{digest[:40]}"
