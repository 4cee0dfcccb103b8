"""HTTP: POST /v1/agents/{id}/events through the real server as `make run` starts it, with 8
connections from a load generator in another process, against a bare Flask endpoint served
the same way (gunicorn, the same processes and threads) in the same run."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import cpu
from .results import Figure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OPSCORE = str(Path(sys.executable).parent / "opscore")
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
CONNECTIONS = 8
AGENTS = 1024
KEY = "bench-key"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 60) -> float:
    """Seconds until /health answers 200 (polled; raises if the process dies or time is up)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"port {port} not healthy after {timeout} s")


def start(argv: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_healthy(port, process)
    return process


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def register_agents(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for n in range(AGENTS):
        connection.request(
            "POST",
            "/v1/agents",
            json.dumps({"id": f"a{n}"}),
            {"X-API-Key": KEY, "Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        answer.read()
        if answer.status not in (201, 409):
            raise RuntimeError(f"registering a{n}: {answer.status}")


def settle(port: int) -> None:
    """Bring every agent back to idle: a load run stops mid-round, and the next one starts
    with `activate`, which an active agent would refuse (a cheap 409, not the work)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    while True:
        connection.request("GET", "/v1/agents?state=active&page_size=500", headers=headers)
        answer = connection.getresponse()
        active = [agent["id"] for agent in json.loads(answer.read())]
        if not active:
            return
        for agent_id in active:
            connection.request(
                "POST", f"/v1/agents/{agent_id}/events", json.dumps({"event": "complete"}), headers
            )
            answer = connection.getresponse()
            answer.read()
            # 409: a request of the load run that was still in flight when the list was
            # read has completed it meanwhile; the next round of the loop lists afresh.
            if answer.status not in (200, 409):
                raise RuntimeError(f"settling {agent_id}: {answer.status}")


def wrk(port: int, seconds: float) -> tuple[float, float, int]:
    """(requests/s, p99 ms, non-2xx answers) from wrk."""
    env = {
        **os.environ,
        "BENCH_AGENTS": str(AGENTS),
        "BENCH_THREADS": str(CONNECTIONS),
        "BENCH_KEY": KEY,
    }
    out = subprocess.run(
        [
            "wrk",
            f"-t{CONNECTIONS}",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(HERE / "load.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, float(p99.group(1)) * scale, int(failed.group(1)) if failed else 0


def python_load(port: int, seconds: float) -> tuple[float, float, int]:
    """The same load from Python threads (when wrk is not installed)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def connection_loop(tid: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        owned, sent = AGENTS // CONNECTIONS, 0
        headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
        while time.perf_counter() < deadline:
            index, round_ = sent % owned, sent // owned
            sent += 1
            event = "activate" if round_ % 2 == 0 else "complete"
            begin = time.perf_counter()
            connection.request(
                "POST",
                f"/v1/agents/a{tid + index * CONNECTIONS}/events",
                json.dumps({"event": event, "data": {}}),
                headers,
            )
            answer = connection.getresponse()
            answer.read()
            with lock:
                latencies.append(time.perf_counter() - begin)
                failures[0] += answer.status >= 300

    threads = [threading.Thread(target=connection_loop, args=(t,)) for t in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return len(latencies) / seconds, p99, failures[0]


def load(port: int, seconds: float) -> tuple[float, float, int]:
    return wrk(port, seconds) if shutil.which("wrk") else python_load(port, seconds)


def generator() -> str:
    return "wrk (Debian package)" if shutil.which("wrk") else "Python threads (wrk not installed)"


def serve_opscore(store: str, scratch: Path) -> tuple[subprocess.Popen, int, dict[str, str]]:
    port = free_port()
    url = "memory://" if store == "memory" else f"sqlite:///{scratch / 'bench.db'}"
    env = {"OPSCORE_DATABASE_URL": url, "OPSCORE_PORT": str(port), "OPSCORE_API_KEYS": KEY}
    if store != "memory":
        subprocess.run(
            [OPSCORE, "db", "upgrade"],
            env={**os.environ, **env},
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return start([OPSCORE, "serve"], env, port, scratch / f"opscore-{store}.log"), port, env


def serve_bare(processes: int, scratch: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = [
        GUNICORN,
        "--chdir",
        str(HERE.parent),
        "-k",
        "gthread",
        "-w",
        str(processes),
        "--threads",
        "8",
        "--bind",
        f"127.0.0.1:{port}",
        "bench.bare_app:app",
    ]
    return start(argv, {}, port, scratch / "bare.log"), port


@dataclass
class Alternation:
    """Load runs on ours and on bare, alternating: rates, our p99s, and the CPU each side's
    processes spent per request (ms; ours split from the database's)."""

    ours: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    failures: int = 0
    cpu: list[float] = field(default_factory=list)
    database_cpu: list[float] = field(default_factory=list)
    bare_cpu: list[float] = field(default_factory=list)

    def cpu_note(self) -> str:
        ours = f"CPU per request: ours {statistics.median(self.cpu):.2f} ms"
        if any(self.database_cpu):  # none when the database runs on another host
            ours += f" and the database's {statistics.median(self.database_cpu):.2f} ms"
        return f"{ours}, bare {statistics.median(self.bare_cpu):.2f} ms"


def alternate(
    server: subprocess.Popen,
    port: int,
    baseline: subprocess.Popen,
    bare_port: int,
    repetitions: int,
    seconds: float,
    database: Callable[[], list[int]] | None = None,
) -> Alternation:
    """Load runs on each, alternating; `database` names the database server's processes."""
    runs = Alternation()
    register_agents(port)
    load(port, min(2.0, seconds))  # warm-up: connections, caches, compiled machines
    ours = {"server": lambda: cpu.family(server.pid), "database": database or list}
    bare = {"server": lambda: cpu.family(baseline.pid)}
    for _ in range(repetitions):
        settle(port)
        (rate, p99, failed), spent = cpu.measured(ours, lambda: load(port, seconds))
        (bare_rate, _, _), bare_spent = cpu.measured(bare, lambda: load(bare_port, seconds))
        runs.ours.append(rate)
        runs.p99s.append(p99)
        runs.failures += failed
        runs.bare.append(bare_rate)
        runs.cpu.append(spent["server"] * 1000 / (rate * seconds))
        runs.bare_cpu.append(bare_spent["server"] * 1000 / (bare_rate * seconds))
        if database is not None:
            runs.database_cpu.append(spent["database"] * 1000 / (rate * seconds))
    return runs


def measure(store: str, repetitions: int, seconds: float) -> list[Figure]:
    """Ours and bare for one store, alternating runs of each."""
    processes = 1 if store == "memory" else 2
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        server, port, _ = serve_opscore(store, scratch)
        baseline, bare_port = serve_bare(processes, scratch)
        try:
            runs = alternate(server, port, baseline, bare_port, repetitions, seconds)
        finally:
            stop(server)
            stop(baseline)
    label = f"POST events, {store} store ({processes} process{'es' if processes > 1 else ''})"
    rate = Figure(
        "http",
        label,
        "req/s",
        runs.ours,
        "bare Flask",
        runs.bare,
        "at least 0.6 of bare",
        note=f"{generator()}; {runs.failures} non-2xx answers; {runs.cpu_note()}",
    )
    rate.met = rate.ratio >= 0.6
    latency = Figure(
        "http",
        f"p99 latency, {store} store",
        "ms",
        runs.p99s,
        target="under 25 ms",
        higher_is_better=False,
    )
    latency.met = latency.median < 25
    return [rate, latency]


def against_memory(memory: Figure, sqlite: Figure) -> Figure:
    """The SQLite row's rate against the memory store's, measured in the same run: what the
    durable embedded default costs over keeping everything in memory (issue 15's 0.8)."""
    figure = Figure(
        "http",
        "POST events, sqlite store against the memory store",
        "req/s",
        sqlite.runs,
        "memory store (1 process)",
        memory.runs,
        "at least 0.8 of the memory store",
    )
    figure.met = figure.ratio >= 0.8
    return figure
