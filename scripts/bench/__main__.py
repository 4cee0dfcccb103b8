"""`make bench` and `make bench-quick`: run the suite, print the table, write the report."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# `python scripts/bench` puts this folder first on the path; import it as the package `bench`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.chdir(Path(__file__).resolve().parent.parent.parent)  # the project: machines/ relative

from bench import (  # noqa: E402
    check,
    engine,
    front,
    inprocess,
    maps,
    postgres,
    profiles,
    scale,
    startup,
    tasks,
    web,
    workflows,
)
from bench.results import table  # noqa: E402
from opscore.config import Settings  # noqa: E402
from opscore.startup import tune_garbage_collector  # noqa: E402

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
REPORT = Path("docs/benchmarks.md")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) // 1024 // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory} GiB; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; "
        f"load average at start {load}"
    )


SECTIONS = ("engine", "scale", "http", "serving", "workflows", "startup", "postgresql")


def run(quick: bool, only: set[str]) -> list:
    reps = 1 if quick else 3
    figures = []
    if "engine" in only:
        figures += engine.measure(3 if quick else 5, rounds=2 if quick else 6)
    if "scale" in only:
        counts = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
        figures += scale.measure(reps, counts)
    if "http" in only:
        memory = web.measure("memory", reps, seconds=3 if quick else 10)
        sqlite = web.measure("sqlite", reps, seconds=3 if quick else 10)
        figures += memory + sqlite + [web.against_memory(memory[0], sqlite[0])]
        figures += inprocess.measure(reps, rounds=2 if quick else 4)
        figures += tasks.measure(reps, seconds=3 if quick else 10)
    if "serving" in only:
        figures += front.measure(reps, seconds=3 if quick else 10)
    if "workflows" in only:
        figures += workflows.measure(reps)
        figures += maps.measure(reps)
    if "startup" in only:
        figures += startup.measure(reps)
    if "postgresql" in only:
        figures += postgres.measure(reps, seconds=3 if quick else 10)
    return figures


def report(figures: list, command: str, seconds: float, profile_text: str) -> str:
    notes = "\n".join(f"- {f.section}, {f.name}: {f.note}" for f in figures if f.note)
    return (
        f"{BEGIN}\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on: {machine()}.\n\n"
        f"Command: `{command}` ({seconds:.0f} s). Medians of the repetitions, with the\n"
        f"smallest and largest in brackets; each baseline was measured in the same run.\n"
        f"A ratio is ours divided by the baseline: for rates the share of the baseline's,\n"
        f"for times how many times the baseline's.\n\n"
        f"{table(figures)}\n\n{notes}\n{profile_text}{END}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (< 1 min)")
    parser.add_argument("--profile", action="store_true", help="add profiles to the report")
    parser.add_argument("--write", action="store_true", help=f"write the report to {REPORT}")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"fail when a same-run ratio is more than 30%% worse than {REPORT} records",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections (default: all of {', '.join(SECTIONS)})",
    )
    args = parser.parse_args()
    command = "make bench-quick" if args.quick else "make bench"
    # The in-process rows (and their baselines) run with the collector the service sets.
    tune_garbage_collector(Settings.from_env().gc_thresholds)
    begin = time.perf_counter()
    figures = run(args.quick, set(args.only.split(",")))
    profile_text = ""
    if args.profile:
        profile_text = (
            "\n### Profiles\n\n"
            f"Engine path (pyinstrument):\n\n```text\n{profiles.engine_profile()}\n```\n\n"
            f"Workflow runs (pyinstrument):\n\n```text\n"
            f"{profiles.workflows_profile()}\n```\n\n"
            f"HTTP, memory store, the server process (py-spy):\n\n```text\n"
            f"{profiles.http_profile('memory', 10)}\n```\n\n"
            f"HTTP, SQLite store, one of the two server processes (py-spy):\n\n```text\n"
            f"{profiles.http_profile('sqlite', 10)}\n```\n\n"
            f"PostgreSQL events, one of the two API processes (py-spy):\n\n```text\n"
            f"{profiles.postgres_events_profile(10)}\n```\n\n"
            f"PostgreSQL steps, one of the two `opscore worker` processes (py-spy):\n\n"
            f"```text\n{profiles.postgres_steps_profile(6)}\n```\n"
        )
    text = report(figures, command, time.perf_counter() - begin, profile_text)
    print(table(figures))
    for skipped in {f.note for f in figures if f.skipped}:
        print(skipped)
    if args.check:
        worse = check.regressions(figures, REPORT.read_text())
        for line in worse:
            print(line, file=sys.stderr)
        print(f"\nbench-check: {len(worse)} ratios more than 30% worse than {REPORT}")
        if worse:
            sys.exit(1)
    if args.write:
        current = REPORT.read_text() if REPORT.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        REPORT.write_text(head + text + tail)
        print(f"\nwritten to {REPORT}")


if __name__ == "__main__":
    main()
