"""Measurements, their medians and spreads, and the table they make."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One measured figure: repetitions of ours and of its same-run baseline."""

    section: str
    name: str
    unit: str
    runs: list[float]
    baseline_name: str = ""
    baseline_runs: list[float] = field(default_factory=list)
    target: str = ""
    met: bool | None = None
    higher_is_better: bool = True
    note: str = ""
    skipped: bool = False  # not measured here (the note says why)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def baseline(self) -> float | None:
        return statistics.median(self.baseline_runs) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        """Ours against the baseline: a rate's share of it, or a time's multiple of it."""
        if self.baseline is None or not self.baseline:
            return None
        return self.median / self.baseline


def number(value: float, unit: str) -> str:
    """A figure written for people: thousands separated, small values with decimals."""
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def spread(runs: list[float], unit: str) -> str:
    return f"{number(min(runs), '')}-{number(max(runs), unit)}".replace(" -", "-")


def table(figures: list[Figure]) -> str:
    """The Markdown table of every figure."""
    rows = [
        "| section | figure | median (min-max) | baseline (same run) | ratio | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        if f.skipped:
            rows.append(f"| {f.section} | {f.name} | skipped | - | - | {f.target} |")
            continue
        base = f"{f.baseline_name}: {number(f.baseline, f.unit)}" if f.baseline is not None else "-"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        verdict = "" if f.met is None else (" (met)" if f.met else " (**missed**)")
        median = f"{number(f.median, f.unit)} ({spread(f.runs, f.unit)})"
        rows.append(
            f"| {f.section} | {f.name} | {median} | {base} | {ratio} | {f.target}{verdict} |"
        )
    return "\n".join(rows)
