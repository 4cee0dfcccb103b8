"""Tasks over HTTP: 8 agent threads claim and complete capability-routed tasks through
`OpsCoreClient` against the real server (memory store, as `make run` serves it); the
baseline is the bare Flask endpoint driven by 8 Python threads in the same run. Each task
costs at least two requests (a claim and a completion), so the ratio compares tasks per
second with bare requests per second."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from opscore.client import OpsCoreClient

from . import web
from .results import Figure

AGENTS = 8
TASKS = 400
TEMPLATE = """kind: workflow
name: routed
version: 1
start: review
steps:
  review: {task: agent, capability: summarize, lease: 30s, next: succeeded}
"""


def one_pass(client: OpsCoreClient, names: list[str]) -> float:
    """Tasks per second: TASKS runs offered, then claimed and completed by AGENTS threads."""
    for _ in range(TASKS):
        client.runs.start("routed")
    while len(client.tasks.list(capability="summarize", page_size=500)) < TASKS:
        time.sleep(0.01)
    done = [0] * len(names)

    def agent(index: int) -> None:
        while (task := client.tasks.claim(names[index])) is not None:
            client.tasks.complete(task["id"], {"ok": True}, lease_token=task["lease_token"])
            done[index] += 1

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(len(names))]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - begin)


def measure(repetitions: int, seconds: float) -> list[Figure]:
    ours, bare = [], []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        shutil.copytree(web.ROOT / "machines", scratch / "machines")
        (scratch / "machines" / "routed.yaml").write_text(TEMPLATE)
        server, port = _serve(scratch)
        baseline, bare_port = web.serve_bare(1, scratch)
        try:
            client = OpsCoreClient(f"http://127.0.0.1:{port}", web.KEY)
            names = [f"agent-{n}" for n in range(AGENTS)]
            for name in names:
                client.agents.register(name, capabilities=["summarize"])
            for _ in range(repetitions):
                ours.append(one_pass(client, names))
                bare.append(web.python_load(bare_port, seconds)[0])
        finally:
            web.stop(server)
            web.stop(baseline)
    figure = Figure(
        "http",
        f"tasks claimed and completed by {AGENTS} agent threads (memory store)",
        "tasks/s",
        ours,
        "bare Flask",
        bare,
        note="each task is a claim and a completion: two requests at least",
    )
    return [figure]


def _serve(scratch: Path):
    port = web.free_port()
    env = {
        "OPSCORE_DATABASE_URL": "memory://",
        "OPSCORE_PORT": str(port),
        "OPSCORE_API_KEYS": web.KEY,
        "OPSCORE_MACHINES_DIR": str(scratch / "machines"),
    }
    return web.start([web.OPSCORE, "serve"], env, port, scratch / "opscore-tasks.log"), port
