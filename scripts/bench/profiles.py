"""Where the time goes: pyinstrument on the in-process paths, py-spy on a server process."""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from opscore.core import OpsCore
from opscore.logs import configure_logging

from . import engine, postgres, web, workflows

TOP = 12
RATE = 500  # py-spy samples a second
_LINE = re.compile(r":\d+\)$")
_TIMING = re.compile(r"Duration: [\d.]+\s+CPU time: [\d.]+")


def engine_profile() -> str:
    """The top of a pyinstrument profile of firing events on 10,000 agents."""
    from pyinstrument import Profiler  # the bench extra; only profiles need it

    with tempfile.TemporaryDirectory() as folder, open(os.path.join(folder, "log"), "w") as log:
        configure_logging("INFO", "json", stream=log)
        core = OpsCore.from_paths(["machines"])
        ids = [core.agents.register(agent_id=f"a{n}").id for n in range(engine.AGENTS)]
        profiler = Profiler(interval=0.0005)
        profiler.start()
        engine.engine_rate(core, ids, 4)
        profiler.stop()
    return _top_of(profiler.output_text(unicode=False, color=False, show_all=False))


def workflows_profile() -> str:
    """The top of a pyinstrument profile of one batch of 1,000 ten-step runs."""
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory() as folder, open(os.path.join(folder, "log"), "w") as log:
        configure_logging("INFO", "json", stream=log)  # as workflows.measure logs
        machines = Path(folder)
        (machines / "ten_noops.yaml").write_text(workflows.template())
        profiler = Profiler(interval=0.0005)
        profiler.start()
        workflows.one_pass(machines)
        profiler.stop()
    return _top_of(profiler.output_text(unicode=False, color=False, show_all=False))


def _spy_path() -> str | None:
    spy = shutil.which("py-spy") or str(Path(web.OPSCORE).parent / "py-spy")
    return spy if Path(spy).exists() else None


def _spy(pid: int | str, seconds: float, scratch: Path) -> str:
    """py-spy's samples of `pid` that hold the GIL (where its CPU goes), summarised."""
    spy = _spy_path()
    if spy is None:
        return "(py-spy is not installed: no profile)"
    raw = scratch / f"profile-{pid}.txt"
    argv = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--rate", str(RATE), "--gil", "--nonblocking", "--format", "raw"]
    subprocess.run(
        [*argv, "--output", str(raw)], capture_output=True, check=False, timeout=seconds + 60
    )
    return summary(raw.read_text()) if raw.exists() else "(py-spy could not attach)"


def _busiest_child(server: subprocess.Popen) -> str:
    children = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
    ).stdout.split()
    return children[-1] if children else str(server.pid)


def http_profile(store: str, seconds: float) -> str:
    """Where a server process's CPU goes under the http row's load (py-spy)."""
    return _served_profile(lambda scratch: web.serve_opscore(store, scratch)[:2], seconds)


def postgres_events_profile(seconds: float) -> str:
    """Where one of the 2 API processes' CPU goes under the postgresql events row's load."""
    url = postgres.database_url()
    if url is None:
        return "(no PostgreSQL named: no profile)"
    return _served_profile(lambda scratch: postgres.serve_events(url, scratch), seconds)


def _served_profile(serve: Callable[[Path], tuple[subprocess.Popen, int]], seconds: float) -> str:
    """py-spy on the busiest process of the server `serve` starts, under the http load."""
    if _spy_path() is None:
        return "(py-spy is not installed: no profile)"
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        server, port = serve(scratch)
        try:
            web.register_agents(port)
            load = threading.Thread(target=web.load, args=(port, seconds + 2))
            load.start()
            try:
                return _spy(_busiest_child(server), seconds, scratch)
            finally:
                load.join()
        finally:
            web.stop(server)


def postgres_steps_profile(seconds: float) -> str:
    """Where one `opscore worker` process's CPU goes while the postgresql steps row runs."""
    url = postgres.database_url()
    if url is None or _spy_path() is None:
        return "(no PostgreSQL named, or py-spy missing: no profile)"
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        with postgres.cluster(url, scratch) as (port, workers, _):
            postgres.carry_out(port)  # once first: the workers have started and warmed up
            # The second round starts while py-spy records (started first, most of its runs
            # would be done before py-spy attached: an idle worker's profile).
            starting = threading.Thread(target=postgres.start_runs, args=(port,))
            starting.start()
            try:
                return _spy(workers[0].pid, seconds, scratch)
            finally:
                starting.join()
                postgres.wait_succeeded(port, runs=2 * postgres.RUNS)


def summary(collapsed: str) -> str:
    """Self time by function, then our own functions by inclusive time (each counted once
    per sample), from py-spy's raw output."""
    own: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        own[frames[-1]] += int(count)
        for function in {_LINE.sub(")", f) for f in frames if "(opscore/" in f}:
            ours[function] += int(count)
        total += int(count)
    if not total:
        return "(no samples)"
    head = f"{total} samples holding the GIL ({RATE} a second)"
    return "\n".join(
        [head, "", "self time (share of samples), function (file:line)"]
        + [f"{count / total:6.1%}  {frame}" for frame, count in own.most_common(TOP)]
        + ["", "our functions, inclusive (share of samples), function (file)"]
        + [f"{count / total:6.1%}  {frame}" for frame, count in ours.most_common(TOP)]
    )


def _top_of(text: str) -> str:
    """The call tree's first lines, after pyinstrument's banner (durations kept, the
    banner's path of this machine left out)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    timing = next((m.group(0) for line in lines if (m := _TIMING.search(line))), "")
    start = next((i for i, line in enumerate(lines) if line[:1].isdigit()), 0)
    body = lines[start : start + TOP * 3]
    return "\n".join([timing, *body] if timing else body)
