"""What the long-running commands share: the collector they set before they start work."""

from __future__ import annotations

import gc
import importlib
import sys
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from opscore.startup import tune_garbage_collector


@pytest.fixture
def collector():
    """Put the collector back as it was: thresholds, and nothing frozen."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tuning_sets_the_thresholds_and_freezes_what_start_up_made(collector):
    made_at_start_up = [{"kept": n} for n in range(10)]
    tune_garbage_collector((12_345, 6, 7))
    assert gc.get_threshold() == (12_345, 6, 7)
    assert gc.get_freeze_count() >= len(made_at_start_up)


def test_tuning_with_none_leaves_pythons_own_collector(collector):
    before = gc.get_threshold()
    tune_garbage_collector(None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_gunicorn_master_sets_the_collector_before_it_forks(collector, monkeypatch):
    monkeypatch.setenv("OPSCORE_DATABASE_URL", "memory://")  # one process: no metrics folder
    monkeypatch.setenv("OPSCORE_GC_THRESHOLDS", "23456,7,8")
    monkeypatch.delitem(sys.modules, "opscore.gunicorn_conf", raising=False)
    conf = importlib.import_module("opscore.gunicorn_conf")
    conf.pre_fork(None, None)
    assert gc.get_threshold() == (23456, 7, 8)


def test_opscore_worker_sets_the_collector_before_it_takes_work(collector, monkeypatch, tmp_path):
    command = importlib.import_module("opscore.cli.worker")
    seen = []

    class _Core:
        store = SimpleNamespace(kind="sqlite")

        def start(self, count):
            seen.append(gc.get_threshold())

        def stop(self):
            pass

    class _Stopped:
        def set(self):
            pass

        def wait(self):
            pass

    monkeypatch.setenv("OPSCORE_DATABASE_URL", f"sqlite:///{tmp_path}/ops.db")
    monkeypatch.setenv("OPSCORE_GC_THRESHOLDS", "34567,8,9")
    monkeypatch.setattr("opscore.core.OpsCore.from_settings", lambda settings: _Core())
    monkeypatch.setattr("opscore.logs.configure_logging", lambda *args: None)
    monkeypatch.setattr("opscore.tracing.configure_tracing", lambda: None)
    monkeypatch.setattr(command, "threading", SimpleNamespace(Event=_Stopped))
    no_signals = SimpleNamespace(SIGTERM=15, SIGINT=2, signal=lambda *args: None)
    monkeypatch.setattr(command, "signal", no_signals)
    result = CliRunner().invoke(command.worker, ["--workers", "1"])
    assert result.exit_code == 0, result.output
    assert seen == [(34567, 8, 9)]
