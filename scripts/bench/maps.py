"""Map steps: items per second for 100 runs of a map over 100 `noop` items (in memory, the
service's default 4 worker threads); against bare `transitions` events per second."""

from __future__ import annotations

import os
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

RUNS = 100
ITEMS = 100
WORKERS = 4
TEMPLATE = """kind: workflow
name: map_noops
version: 1
start: each
steps:
  each:
    map:
      items: $.input.items
      start: touch
      steps:
        touch: {task: noop, params: {item: $.item}, next: succeeded}
    next: succeeded
"""


def one_pass(machines: Path) -> float:
    """Items per second for one batch of map runs."""
    definitions = DefinitionRegistry()
    definitions.load([machines], default_registry, task_types=default_tasks)
    store = MemoryStore(queue=MemoryWorkQueue(capacity=RUNS * ITEMS * 2))
    core = OpsCore(definitions, store)
    core.start(WORKERS)
    items = list(range(ITEMS))
    try:
        begin = time.perf_counter()
        for _ in range(RUNS):
            core.runs.start("map_noops", {"items": items})
        while core.runs.list(Query(state="succeeded", limit=1)).total < RUNS:
            time.sleep(0.005)
        elapsed = time.perf_counter() - begin
    finally:
        core.stop()
    return RUNS * ITEMS / elapsed


def measure(repetitions: int) -> list[Figure]:
    rates, bare = [], []
    with (
        tempfile.TemporaryDirectory() as folder,
        open(os.path.join(folder, "log.jsonl"), "w") as log,
    ):
        configure_logging("INFO", "json", stream=log)
        machines = Path(folder) / "machines"
        machines.mkdir()
        (machines / "map_noops.yaml").write_text(TEMPLATE)
        probe = OpsCore.from_paths(["machines"])
        for _ in range(repetitions):
            bare.append(bare_rate(probe, 10))
            rates.append(one_pass(machines))
    figure = Figure(
        "workflows",
        f"{RUNS} runs of a map over {ITEMS} noop items",
        "items/s",
        rates,
        "bare transitions",
        bare,
        "at least 2,000 items/s",
    )
    figure.met = figure.median >= 2000
    return [figure]
