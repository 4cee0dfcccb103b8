"""CPU time that processes spent, read from /proc: what a load run cost each side of it
(the server's processes, the database's), so the report can say where a served rate went."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
TICKS = os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """The process and its children (gunicorn's master and its workers)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [pid, *(int(child) for child in found.stdout.split())]


def named(name: str) -> list[int]:
    """Every process of this name: the PostgreSQL server's, for one."""
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def used(pid: int) -> float:
    """CPU seconds (user and system) the process has spent; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def measured(
    groups: dict[str, Callable[[], list[int]]], run: Callable[[], T]
) -> tuple[T, dict[str, float]]:
    """`run()`'s result, and the CPU seconds each group of processes spent meanwhile (a
    process that ends during the run takes its share with it)."""
    before = {name: {pid: used(pid) for pid in pids()} for name, pids in groups.items()}
    result = run()
    spent = {}
    for name, pids in groups.items():
        after = {pid: used(pid) for pid in pids()}
        spent[name] = sum(t - before[name].get(pid, 0.0) for pid, t in after.items())
    return result, spent
