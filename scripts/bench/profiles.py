"""Where the time goes: pyinstrument on the in-process paths, py-spy on a server process."""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from opscore.core import OpsCore
from opscore.logs import configure_logging

from . import engine, web, workflows

TOP = 12
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


def http_profile(store: str, seconds: float) -> str:
    """Self time by function in the busiest server process, sampled by py-spy under load."""
    spy = shutil.which("py-spy") or str(Path(web.OPSCORE).parent / "py-spy")
    if not Path(spy).exists():
        return "(py-spy is not installed: no profile)"
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        server, port, _ = web.serve_opscore(store, scratch)
        try:
            web.register_agents(port)
            children = subprocess.run(
                ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
            ).stdout.split()
            target = children[-1] if children else str(server.pid)
            raw = scratch / "profile.txt"
            load = threading.Thread(target=web.load, args=(port, seconds + 2))
            load.start()
            subprocess.run(
                [
                    spy,
                    "record",
                    "--pid",
                    target,
                    "--duration",
                    str(int(seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(raw),
                    "--nonblocking",
                ],
                capture_output=True,
                check=False,
                timeout=seconds + 60,
            )
            load.join()
        finally:
            web.stop(server)
        return _self_time(raw.read_text()) if raw.exists() else "(py-spy could not attach)"


def _self_time(collapsed: str) -> str:
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames and "(threading.py" in frames[-1] and "wait" in frames[-1]:
            continue  # idle threads
        own[frames[-1]] += int(count)
        total += int(count)
    rows = [f"{count / total:6.1%}  {frame}" for frame, count in own.most_common(TOP)]
    return "self time (share of busy samples), function (file:line)\n" + "\n".join(rows)


def _top_of(text: str) -> str:
    """The call tree's first lines, after pyinstrument's banner (durations kept, the
    banner's path of this machine left out)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    timing = next((m.group(0) for line in lines if (m := _TIMING.search(line))), "")
    start = next((i for i, line in enumerate(lines) if line[:1].isdigit()), 0)
    body = lines[start : start + TOP * 3]
    return "\n".join([timing, *body] if timing else body)
