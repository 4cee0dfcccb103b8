"""`make bench-check`: a same-run ratio more than 30% worse than the recorded one fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.constants import ROOT

REPORT = """| section | figure | median (min-max) | baseline (same run) | ratio | target |
| --- | --- | --- | --- | --- | --- |
| http | POST events, sqlite store (2 processes) | 974 req/s | bare: 1,948 req/s | 0.50 | - |
| start-up | make run to healthy /health | 0.9 s | bare: 0.1125 s | 8.00 | under 2 s |
| workflows | 1,000 runs of 10 noop steps | 3,323 steps/s | bare: 117,288 steps/s | 0.03 | - |
"""


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from bench import check, results

    return check, results


def rate(results, ours: float, bare: float):
    return results.Figure(
        "http", "POST events, sqlite store (2 processes)", "req/s", [ours], "bare", [bare]
    )


def startup(results, ours: float, bare: float):
    return results.Figure(
        "start-up",
        "make run to healthy /health",
        "s",
        [ours],
        "bare",
        [bare],
        higher_is_better=False,
    )


def test_a_rate_ratio_within_30_percent_of_the_recorded_one_passes(bench):
    check, results = bench
    assert check.regressions([rate(results, 36, 100), startup(results, 11, 1)], REPORT) == []


def test_a_rate_ratio_more_than_30_percent_below_the_recorded_one_fails(bench):
    check, results = bench
    [failure] = check.regressions([rate(results, 34, 100)], REPORT)
    assert "ratio 0.34, recorded 0.50" in failure


def test_a_time_ratio_more_than_30_percent_worse_than_recorded_fails(bench):
    check, results = bench
    [failure] = check.regressions([startup(results, 12, 1)], REPORT)
    assert "make run to healthy /health" in failure


def steps(results, ours: float, bare: float):
    return results.Figure("workflows", "1,000 runs of 10 noop steps", "steps/s", [ours], "", [bare])


def test_a_small_ratio_is_compared_unrounded_against_the_recorded_ones_rounding(bench):
    check, results = bench
    # 0.0249 rounds to 0.02, 67% of the recorded 0.03, which may have been 0.025.
    assert check.regressions([steps(results, 2_490, 100_000)], REPORT) == []
    [failure] = check.regressions([steps(results, 1_700, 100_000)], REPORT)
    assert "ratio 0.02, recorded 0.03" in failure


def test_skipped_and_unrecorded_figures_are_not_compared(bench):
    check, results = bench
    skipped = results.Figure("postgresql", "x", "", [], skipped=True)
    new = results.Figure("engine", "not recorded", "events/s", [1], "bare", [100])
    assert check.regressions([skipped, new], REPORT) == []


def test_bench_help_names_the_check_and_its_threshold():
    shown = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "more than 30% worse" in " ".join(shown.stdout.split())
