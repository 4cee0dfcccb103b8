"""Workflows: step transitions per second for 1,000 concurrent runs of a 10-step `noop`
template (in memory, the service's default 4 worker threads), and the median time from
starting a run to its first step starting; against bare `transitions` events per second."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from opscore.callbacks import default_registry
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from opscore.logs import configure_logging
from opscore.model import Query
from opscore.store import MemoryStore, MemoryWorkQueue
from opscore.tasks.builtin import default_tasks

from .engine import bare_rate
from .results import Figure

RUNS = 1000
STEPS = 10
WORKERS = 4


def template() -> str:
    steps = "\n".join(
        f"  s{n}: {{task: noop, params: {{n: {n}}}, next: "
        f"{'s' + str(n + 1) if n + 1 < STEPS else 'succeeded'}}}"
        for n in range(STEPS)
    )
    return f"kind: workflow\nname: ten_noops\nversion: 1\nstart: s0\nsteps:\n{steps}\n"


def one_pass(machines: Path) -> tuple[float, float]:
    """(step transitions/s, median seconds from start to first step) for one batch of runs."""
    definitions = DefinitionRegistry()
    definitions.load([machines], default_registry, task_types=default_tasks)
    store = MemoryStore(queue=MemoryWorkQueue(capacity=RUNS * 2))
    core = OpsCore(definitions, store)
    core.start(WORKERS)
    try:
        begin = time.perf_counter()
        runs = [core.runs.start("ten_noops") for _ in range(RUNS)]
        while core.runs.list(Query(state="succeeded", limit=1)).total < RUNS:
            time.sleep(0.005)
        elapsed = time.perf_counter() - begin
    finally:
        core.stop()
    firsts = [
        core.runs.state(core.runs.get(run.id)).steps["s0"].attempts[0].started_at - run.created_at
        for run in runs
    ]
    return RUNS * STEPS / elapsed, statistics.median(firsts)


def measure(repetitions: int) -> list[Figure]:
    rates, firsts, bare = [], [], []
    with (
        tempfile.TemporaryDirectory() as folder,
        open(os.path.join(folder, "log.jsonl"), "w") as log,
    ):
        configure_logging("INFO", "json", stream=log)
        machines = Path(folder) / "machines"
        machines.mkdir()
        (machines / "ten_noops.yaml").write_text(template())
        probe = OpsCore.from_paths(["machines"])
        for _ in range(repetitions):
            bare.append(bare_rate(probe, 10))
            rate, first = one_pass(machines)
            rates.append(rate)
            firsts.append(first * 1000)
    throughput = Figure(
        "workflows",
        f"{RUNS:,} runs of {STEPS} noop steps",
        "steps/s",
        rates,
        "bare transitions",
        bare,
        "at least 2,000 steps/s",
    )
    throughput.met = throughput.median >= 2000
    latency = Figure(
        "workflows",
        "start to first step (median)",
        "ms",
        firsts,
        higher_is_better=False,
        note="while 1,000 runs start at once",
    )
    return [throughput, latency]
