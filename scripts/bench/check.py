"""`make bench-check`: this run's same-run ratios against those docs/benchmarks.md records.

A ratio is ours over a baseline measured in the same run, so it compares across machines
and loads better than a time does. A figure fails when its ratio is more than TOLERANCE
worse than the recorded one: a rate's share of its baseline below 70% of the recorded
share, a time's multiple of its baseline above the recorded multiple divided by 0.7.
Figures without a baseline, skipped here, or not recorded are not compared. The table
records ratios to two decimals, so the recorded one is taken at the most favourable end
of its rounding (0.03 may have been 0.025), and this run's is not rounded: a small ratio
(a workflow's steps against bare `transitions`, 0.03) would otherwise fail for the
rounding alone.
"""

from __future__ import annotations

from .results import Figure

TOLERANCE = 0.3
ROUNDING = 0.005  # half the last decimal of a recorded ratio


def recorded_ratios(report: str) -> dict[tuple[str, str], float]:
    """(section, figure) -> ratio, from the results table of the report."""
    ratios = {}
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[0] in ("section", "---"):
            continue
        try:
            ratios[(cells[0], cells[1])] = float(cells[4])
        except ValueError:
            continue
    return ratios


def regressions(figures: list[Figure], report: str) -> list[str]:
    """One line for each figure whose ratio is more than TOLERANCE worse than recorded."""
    recorded = recorded_ratios(report)
    worse = []
    for figure in figures:
        was = recorded.get((figure.section, figure.name))
        if figure.skipped or figure.ratio is None or was is None:
            continue
        now = figure.ratio
        if figure.higher_is_better:
            failed = now < (was - ROUNDING) * (1 - TOLERANCE)
        else:
            failed = now > (was + ROUNDING) / (1 - TOLERANCE)
        if failed:
            worse.append(f"{figure.section}, {figure.name}: ratio {now:.2f}, recorded {was:.2f}")
    return worse
