"""Scale: registering N agents in a fresh process, its wall time and resident memory growth,
against the time to make N plain records with random ids in the same process."""

from __future__ import annotations

import json
import subprocess
import sys

from .results import Figure

PROBE = r"""
import json, os, sys, time, uuid
from opscore.core import OpsCore
from opscore.logs import configure_logging

def resident_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

count = int(sys.argv[1])
start = time.perf_counter()
plain = {uuid.uuid4().hex: {"name": f"agent-{n}", "capabilities": ["summarize"]}
         for n in range(count)}
baseline = time.perf_counter() - start
del plain
with open(os.devnull, "w") as sink:
    configure_logging("INFO", "json", stream=sink)
    core = OpsCore.from_paths(["machines"])
    before, start = resident_mb(), time.perf_counter()
    for n in range(count):
        core.agents.register(name=f"agent-{n}", capabilities=["summarize"])
    seconds = time.perf_counter() - start
    grown = resident_mb() - before
print(json.dumps({"seconds": seconds, "mb": grown, "baseline": baseline}))
"""


def probe(count: int) -> dict[str, float]:
    """Run one registration in a fresh interpreter (so memory growth is its own)."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(count)],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return json.loads(out.stdout)


def measure(repetitions: int, counts: tuple[int, ...]) -> list[Figure]:
    figures = []
    for count in counts:
        runs = [probe(count) for _ in range(repetitions if count <= 100_000 else 1)]
        time_figure = Figure(
            "scale",
            f"register {count:,} agents",
            "s",
            [r["seconds"] for r in runs],
            "plain records",
            [r["baseline"] for r in runs],
            higher_is_better=False,
        )
        memory = Figure(
            "scale",
            f"memory for {count:,} agents",
            "MiB",
            [r["mb"] for r in runs],
            higher_is_better=False,
        )
        if count == 100_000:
            time_figure.target, memory.target = "under 3 s", "under 150 MiB"
            time_figure.met = time_figure.median < 3
            memory.met = memory.median < 150
        figures += [time_figure, memory]
    return figures
