"""Start-up and loading: `make run` to a healthy /health (against a bare Flask app served by
gunicorn the same way), and loading and checking 200 machine files (against parsing them)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from opscore.callbacks import default_registry
from opscore.definitions import DefinitionRegistry
from opscore.tasks.builtin import default_tasks

from .results import Figure
from .web import GUNICORN, HERE, ROOT, free_port, stop, wait_healthy

FILES = 200


def make_run_seconds(scratch: Path) -> float:
    port = free_port()
    env = {
        **os.environ,
        "OPSCORE_PORT": str(port),
        "OPSCORE_API_KEYS": "bench-key",
        "OPSCORE_DATABASE_URL": f"sqlite:///{scratch / f'startup-{port}.db'}",
    }
    begin = time.perf_counter()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(port, process)
        return time.perf_counter() - begin
    finally:
        stop(process)


def bare_start_seconds() -> float:
    port = free_port()
    begin = time.perf_counter()
    process = subprocess.Popen(
        [
            GUNICORN,
            "--chdir",
            str(HERE.parent),
            "-k",
            "gthread",
            "-w",
            "2",
            "--threads",
            "8",
            "--bind",
            f"127.0.0.1:{port}",
            "bench.bare_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(port, process)
        return time.perf_counter() - begin
    finally:
        stop(process)


def machine_files(folder: Path) -> list[Path]:
    source = (ROOT / "machines" / "agent.yaml").read_text()
    for n in range(FILES):
        (folder / f"agent_{n}.yaml").write_text(source.replace("name: agent", f"name: agent_{n}"))
    return sorted(folder.iterdir())


def load_seconds(folder: Path) -> float:
    begin = time.perf_counter()
    DefinitionRegistry().load([folder], default_registry, task_types=default_tasks)
    return time.perf_counter() - begin


def parse_seconds(files: list[Path]) -> float:
    begin = time.perf_counter()
    for path in files:
        yaml.safe_load(path.read_text())
    return time.perf_counter() - begin


def measure(repetitions: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        starts, bare_starts = [], []
        for _ in range(repetitions):
            starts.append(make_run_seconds(scratch))
            bare_starts.append(bare_start_seconds())
        files_dir = scratch / "files"
        files_dir.mkdir()
        files = machine_files(files_dir)
        loads = [load_seconds(files_dir) for _ in range(repetitions)]
        parses = [parse_seconds(files) for _ in range(repetitions)]
    start = Figure(
        "start-up",
        "make run to healthy /health",
        "s",
        starts,
        "bare Flask under gunicorn",
        bare_starts,
        "under 2 s",
        higher_is_better=False,
    )
    start.met = start.median < 2
    loading = Figure(
        "start-up",
        f"load and check {FILES} machine files",
        "s",
        loads,
        "yaml.safe_load only",
        parses,
        "under 1 s",
        higher_is_better=False,
    )
    loading.met = loading.median < 1
    return [start, loading]
