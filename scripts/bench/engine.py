"""Engine: events per second through `fire` (lock, history, in-memory store, a JSON log line
to a file) on 10,000 agents, against bare `transitions` (one shared Machine, a light model)."""

from __future__ import annotations

import os
import tempfile
import time

from transitions import Machine

from opscore.core import OpsCore
from opscore.logs import configure_logging

from .results import Figure

AGENTS = 10_000
EVENTS = ("activate", "complete")


class _Light:
    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def bare_rate(core: OpsCore, rounds: int) -> float:
    """Events per second on plain `transitions`: the agent machine's states and transitions."""
    definition = core.definitions.get("agent")
    machine = Machine(
        model=None,
        states=list(definition.state_names),
        initial=definition.initial,
        auto_transitions=False,
    )
    for t in definition.transitions:
        machine.add_transition(t.trigger, list(t.sources), t.dest)
    models = [_Light(definition.initial) for _ in range(AGENTS)]
    start = time.perf_counter()
    for round_ in range(rounds):
        trigger = machine.events[EVENTS[round_ % 2]].trigger
        for model in models:
            trigger(model)
    return rounds * AGENTS / (time.perf_counter() - start)


def engine_rate(core: OpsCore, ids: list[str], rounds: int) -> float:
    """Events per second through AgentService.fire_event (the whole committed path)."""
    fire = core.agents.fire_event
    start = time.perf_counter()
    for round_ in range(rounds):
        event = EVENTS[round_ % 2]
        for agent_id in ids:
            fire(agent_id, event)
    return rounds * AGENTS / (time.perf_counter() - start)


def measure(repetitions: int, rounds: int) -> list[Figure]:
    """Both rates, interleaved, `repetitions` times each."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        open(os.path.join(scratch, "log.jsonl"), "w") as log,
    ):
        configure_logging("INFO", "json", stream=log)
        core = OpsCore.from_paths(["machines"])
        ids = [core.agents.register(agent_id=f"a{n}").id for n in range(AGENTS)]
        ours, bare = [], []
        for _ in range(repetitions):
            bare.append(bare_rate(core, rounds))
            ours.append(engine_rate(core, ids, rounds))
            if rounds % 2:  # end where we started, so the next repetition's events are allowed
                engine_rate(core, ids, 1)
    figure = Figure(
        "engine",
        f"fire on {AGENTS:,} agents",
        "events/s",
        ours,
        "bare transitions",
        bare,
        "at least 0.45 of bare",
    )
    figure.met = figure.ratio >= 0.45
    return [figure]
