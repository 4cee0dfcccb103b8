"""PostgreSQL: POST events through 2 API processes, and workflow steps/s with 2 API processes
plus 2 `opscore worker` processes, on the server that OPSCORE_BENCH_DATABASE_URL (else
OPSCORE_TEST_DATABASE_URL) names. The bench empties that database first: name a scratch one.
Without either variable the rows say they were skipped."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import MetaData

from opscore.store.sql import connect

from .cpu import family, measured, named
from .results import Figure
from .web import KEY as API_KEY
from .web import (
    OPSCORE,
    ROOT,
    alternate,
    free_port,
    serve_bare,
    start,
    stop,
)
from .workflows import STEPS, template

URL_VARIABLES = ("OPSCORE_BENCH_DATABASE_URL", "OPSCORE_TEST_DATABASE_URL")
PROCESSES = 2
WORKER_PROCESSES = 2
RUNS = 300
EVENTS_ROW = f"POST events, postgresql store ({PROCESSES} processes)"
STEPS_ROW = (
    f"{RUNS} runs of {STEPS} noop steps, {PROCESSES} API + {WORKER_PROCESSES} worker processes"
)


def database_url() -> str | None:
    """The PostgreSQL server the bench may use (and empty), if one is named."""
    return next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), None)


def named_postgres() -> list[int]:
    """The PostgreSQL server's processes on this machine (none if it runs elsewhere)."""
    return named("postgres")


def skipped() -> list[Figure]:
    """The rows, marked skipped, when no server is named."""
    why = f"skipped: set {' or '.join(URL_VARIABLES)} to a PostgreSQL database to empty"
    return [
        Figure("postgresql", name, "", [], note=why, skipped=True)
        for name in (EVENTS_ROW, STEPS_ROW)
    ]


def reset(url: str) -> None:
    """An empty, freshly migrated database (every table it held dropped, ours or not)."""
    engine = connect(url)
    with engine.begin() as conn:
        found = MetaData()
        found.reflect(conn)
        found.drop_all(conn)
    engine.dispose()
    subprocess.run(
        [OPSCORE, "db", "upgrade"],
        env={**os.environ, "OPSCORE_DATABASE_URL": url},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


def environment(url: str, port: int, machines: Path, workers: int) -> dict[str, str]:
    return {
        "OPSCORE_DATABASE_URL": url,
        "OPSCORE_PORT": str(port),
        "OPSCORE_API_KEYS": API_KEY,
        "OPSCORE_PROCESSES": str(PROCESSES),
        "OPSCORE_WORKERS": str(workers),
        "OPSCORE_MACHINES_DIR": str(machines),
        "OPSCORE_QUEUE_CAPACITY": str(RUNS * 2),
        "OPSCORE_LOG_LEVEL": "WARNING",
    }


def serve_events(url: str, scratch: Path) -> tuple[subprocess.Popen, int]:
    """`opscore serve` with 2 processes on an emptied database: (the server, its port)."""
    reset(url)
    port = free_port()
    env = environment(url, port, ROOT / "machines", 0)
    return start([OPSCORE, "serve"], env, port, scratch / "opscore-postgresql.log"), port


def events(url: str, repetitions: int, seconds: float, scratch: Path) -> list[Figure]:
    """POST events through 2 API processes on PostgreSQL, against bare Flask."""
    server, port = serve_events(url, scratch)
    baseline, bare_port = serve_bare(PROCESSES, scratch)
    try:
        runs = alternate(server, port, baseline, bare_port, repetitions, seconds, named_postgres)
    finally:
        stop(server)
        stop(baseline)
    rate = Figure(
        "postgresql",
        EVENTS_ROW,
        "req/s",
        runs.ours,
        "bare Flask",
        runs.bare,
        "at least 0.6 of bare",
        note=f"{runs.failures} non-2xx answers; {runs.cpu_note()}",
    )
    rate.met = rate.ratio >= 0.6
    latency = Figure(
        "postgresql", "p99 latency, postgresql store", "ms", runs.p99s, higher_is_better=False
    )
    return [rate, latency]


def _post(port: int, path: str, body: dict | None = None) -> tuple[int, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    connection.request("POST" if body is not None else "GET", path, json.dumps(body), headers)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read() or b"null")


def _succeeded(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "GET",
        "/v1/runs?workflow=ten_noops&state=succeeded&page_size=1",
        headers={"X-API-Key": API_KEY},
    )
    answer = connection.getresponse()
    answer.read()
    return json.loads(answer.getheader("X-Pagination") or "{}").get("total", 0)


def machines_with_template(scratch: Path) -> Path:
    """A copy of machines/ with the 10-step noop workflow added."""
    machines = scratch / "machines"
    if not machines.exists():
        shutil.copytree(ROOT / "machines", machines)
        (machines / "workflows").mkdir(exist_ok=True)
        (machines / "workflows" / "ten_noops.yaml").write_text(template())
    return machines


@contextlib.contextmanager
def cluster(
    url: str, scratch: Path
) -> Iterator[tuple[int, list[subprocess.Popen], subprocess.Popen]]:
    """An emptied database, 2 API processes without step workers and 2 `opscore worker`
    processes of 4 threads: (the API's port, the worker processes, the API's server)."""
    reset(url)
    port = free_port()
    env = environment(url, port, machines_with_template(scratch), 4)
    server = start([OPSCORE, "serve"], {**env, "OPSCORE_WORKERS": "0"}, port, scratch / "api.log")
    workers = [
        subprocess.Popen(
            [OPSCORE, "worker"],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(WORKER_PROCESSES)
    ]
    try:
        yield port, workers, server
    finally:
        for worker in workers:
            stop(worker)
        stop(server)


def start_runs(port: int) -> None:
    """RUNS runs of the 10-step template, started over HTTP one after another."""
    for _ in range(RUNS):
        status, body = _post(port, "/v1/workflows/ten_noops/runs", {"input": {}})
        if status != 202:
            raise RuntimeError(f"starting a run: {status} {body}")


def wait_succeeded(port: int, timeout: float = 600, runs: int = RUNS) -> None:
    """Wait until `runs` runs of the template have succeeded."""
    deadline = time.perf_counter() + timeout
    while _succeeded(port) < runs:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the runs did not finish in {timeout:.0f} s")
        time.sleep(0.05)


def carry_out(port: int) -> None:
    """Start the runs and wait for all of them to succeed."""
    start_runs(port)
    wait_succeeded(port)


def steps(url: str, repetitions: int, scratch: Path) -> list[Figure]:
    """Step transitions/s of RUNS runs of a 10-step noop template, started over HTTP on 2 API
    processes (no step workers of their own) and carried out by 2 `opscore worker` processes."""
    rates: list[float] = []
    cpu: dict[str, list[float]] = {"workers": [], "api": [], "database": []}
    for _ in range(repetitions):
        with cluster(url, scratch) as (port, workers, server):
            groups = {
                "workers": lambda: [w.pid for w in workers],
                "api": lambda: family(server.pid),
                "database": named_postgres,
            }
            begin = time.perf_counter()
            _, spent = measured(groups, lambda: carry_out(port))
            rates.append(RUNS * STEPS / (time.perf_counter() - begin))
        for name, seconds in spent.items():
            cpu[name].append(seconds * 1000 / (RUNS * STEPS))
    median = {name: statistics.median(spent) for name, spent in cpu.items()}
    cpu_note = (
        f"CPU per step: the workers' {median['workers']:.2f} ms, "
        f"the API processes' {median['api']:.2f} ms"
    )
    if median["database"]:  # none when the database runs on another host
        cpu_note += f" and the database's {median['database']:.2f} ms"
    throughput = Figure(
        "postgresql",
        STEPS_ROW,
        "steps/s",
        rates,
        target="at least 2,000 steps/s",
        note=f"runs started over HTTP, timed from the first start to the last success; {cpu_note}",
    )
    throughput.met = throughput.median >= 2000
    return [throughput]


def measure(repetitions: int, seconds: float) -> list[Figure]:
    """Both PostgreSQL rows, or the rows marked skipped when no server is named."""
    url = database_url()
    if url is None:
        return skipped()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        return events(url, repetitions, seconds, scratch) + steps(url, repetitions, scratch)
