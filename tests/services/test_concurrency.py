"""Events on one instance are serialized: concurrent fires never lose or duplicate a record."""

from __future__ import annotations

import itertools
import sys
import threading

import pytest

from opscore.clock import SystemClock
from opscore.core import OpsCore
from opscore.errors import TransitionError
from tests.support.backends import close_store, make_store

THREADS = 16
# Each SQL commit reaches the disk, so fewer fires keep the SQL variants quick.
FIRES_IN_MEMORY, FIRES_IN_SQL = 200, 25


@pytest.fixture
def eager_thread_switching():
    """Switch threads every microsecond so that the threads really interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("eager_thread_switching")
def test_sixteen_threads_firing_at_one_agent_leave_a_contiguous_matching_history(
    definitions, callbacks, backend
):
    fires = FIRES_IN_MEMORY if backend == "memory://" else FIRES_IN_SQL
    store = make_store(backend, SystemClock(), history_cap=THREADS * fires)
    core = OpsCore(definitions, store, callbacks)
    agent = core.agents.register()
    start = threading.Barrier(THREADS)
    successes = [0] * THREADS

    def hammer(index: int) -> None:
        start.wait()
        for i in range(fires):
            event = ("activate", "complete", "pause", "resume")[(index + i) % 4]
            try:
                core.agents.fire_event(agent.id, event)
                successes[index] += 1
            except TransitionError:
                pass

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    history = core.agents.history(agent.id, limit=THREADS * fires).items
    final = core.agents.get(agent.id)
    close_store(store)
    assert sum(successes) > 0
    assert len(history) == sum(successes)
    assert [r.seq for r in history] == list(range(1, len(history) + 1))
    assert all(a.dest == b.source for a, b in itertools.pairwise(history))
    assert (final.state, final.seq, final.revision) == (
        history[-1].dest,
        len(history),
        len(history) + 1,
    )
