"""Register N agents in one process and report wall time and resident memory growth.

Usage: .venv/bin/python scripts/bench_register.py [N]   (default 100000)
"""

from __future__ import annotations

import os
import sys
import time

from opscore.core import OpsCore
from opscore.logs import configure_logging


def resident_mb() -> float:
    """This process's resident set size in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(count: int) -> None:
    """Register `count` agents, each logging one JSON line (to /dev/null)."""
    with open(os.devnull, "w") as sink:
        configure_logging("INFO", "json", stream=sink)
        core = OpsCore.from_paths(["machines"])
        before, start = resident_mb(), time.perf_counter()
        for i in range(count):
            core.agents.register(name=f"agent-{i}", capabilities=["summarize"])
        seconds = time.perf_counter() - start
        print(
            f"registered {count} agents in {seconds:.2f} s "
            f"({count / seconds:,.0f}/s), resident memory +{resident_mb() - before:.0f} MiB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
