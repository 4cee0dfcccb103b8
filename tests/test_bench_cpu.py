"""The bench's CPU meter: what a group of processes spent while a load ran, from /proc."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.constants import ROOT

# Waits for a line, spends a quarter of a second of CPU time (however busy the machine
# is), says so, and waits for the end of its input.
BURNER = """
import sys, time
sys.stdin.readline()
start = time.process_time()
while time.process_time() - start < 0.25:
    pass
print("done", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def cpu(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from bench import cpu

    return cpu


@pytest.fixture
def burner():
    with subprocess.Popen(
        [sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        yield process
        process.kill()


def _burn(process: subprocess.Popen) -> str:
    process.stdin.write("go\n")
    process.stdin.flush()
    return process.stdout.readline().strip()


def test_a_group_is_charged_the_cpu_its_processes_spent_during_the_run(cpu, burner):
    groups = {"burner": lambda: [burner.pid], "nobody": list}
    said, spent = cpu.measured(groups, lambda: _burn(burner))
    assert said == "done"
    assert 0.25 <= spent["burner"] < 5
    assert spent["nobody"] == 0


def test_cpu_spent_before_the_run_is_not_charged_to_it(cpu, burner):
    _burn(burner)
    _, spent = cpu.measured({"burner": lambda: [burner.pid]}, lambda: cpu.used(burner.pid))
    assert spent["burner"] < 0.25
