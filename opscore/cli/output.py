"""How the `opscore` commands print: aligned tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import click

from ..client import Page


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, two spaces apart, no trailing blanks."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (tuple(header), *rows)
    ]
    return "\n".join(lines)


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """`name  value` lines, the values aligned."""
    pairs = list(pairs)
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name.ljust(width)}  {value}".rstrip() for name, value in pairs)


def echo_json(value: Any) -> None:
    """Print `value` as indented JSON."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def compact(value: Any) -> str:
    """`value` as one-line JSON; empty for nothing."""
    if value in (None, {}, []):
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def when(timestamp: str | None) -> str:
    """`2026-11-24T20:00:01.000000Z` as `2026-11-24 20:00:01` (UTC)."""
    if not timestamp:
        return ""
    return timestamp[:19].replace("T", " ")


def clock_time(timestamp: str | None) -> str:
    """`2026-11-24T20:00:01.000000Z` as `20:00:01` (UTC)."""
    return when(timestamp)[11:] or (timestamp or "")


def listed(values: Iterable[Any]) -> str:
    """Comma-separated, or `-` for none."""
    return ", ".join(str(v) for v in values) or "-"


def more_pages_hint(listing: Page | None, what: str) -> None:
    """On stderr, when a listing is one page of several: how to see the rest."""
    if listing is None or listing.total_pages <= 1:
        return
    click.echo(
        f"page {listing.page} of {listing.total_pages} ({listing.total} {what}); "
        "--page N for another, --all for every page",
        err=True,
    )


def transitions_table(records: list[dict[str, Any]]) -> str:
    """Transition records as a table: SEQ, AT, EVENT, SOURCE, DEST, DATA."""
    return table(
        ("SEQ", "AT", "EVENT", "SOURCE", "DEST", "DATA"),
        [
            (r["seq"], when(r["at"]), r["event"], r["source"], r["dest"], compact(r["data"]))
            for r in records
        ],
    )


def transition_line(instance_id: str, transition: dict[str, Any] | None) -> str:
    """`a1 activate: idle -> active (seq 1)`."""
    if not transition:
        return f"{instance_id}: no transition"
    return (
        f"{instance_id} {transition['event']}: {transition['source']} -> {transition['dest']} "
        f"(seq {transition['seq']})"
    )


def echo_explanation(found: dict[str, Any], as_json: bool) -> None:
    """An explanation: its subject's state, then one line per reason."""
    if as_json:
        echo_json(found)
        return
    a2a = f" ({found['a2a_state']})" if found.get("a2a_state") else ""
    lines = [f"{found['id']}: {found['state']}{a2a}"]
    lines += [f"- {reason['message']}" for reason in found["reasons"]] or ["- nothing to wait on"]
    click.echo("\n".join(lines))
