"""Paths of steps and branches inside a run: `fetch`, `fan_out/research/search`,
`each_doc/3/summarize`. A step's scope is the branch (or map item) it runs in; the
run's own top-level steps have the empty scope."""

from __future__ import annotations

from ..engine.flow_diagram import ITEM

SEPARATOR = "/"
ROOT = ""


def join(scope: str, name: str) -> str:
    """The path of `name` inside `scope`."""
    return f"{scope}{SEPARATOR}{name}" if scope else name


def scope_of(path: str) -> str:
    """The branch or item a step runs in (ROOT for a top-level step)."""
    return path.rsplit(SEPARATOR, 1)[0] if SEPARATOR in path else ROOT


def split_scope(scope: str) -> tuple[str, str]:
    """(the parallel or map step's path, the branch name or item index) of a scope."""
    step, key = scope.rsplit(SEPARATOR, 1)
    return step, key


def top_level(path: str) -> str:
    """The top-level step a path is inside (the step itself when it is top-level)."""
    return path.split(SEPARATOR, 1)[0]


def with_top_level(path: str, name: str) -> str:
    """`path` with its top-level step called `name` (a step renamed by an upgrade)."""
    _, separator, inside = path.partition(SEPARATOR)
    return f"{name}{separator}{inside}"


def under(path: str, ancestor: str) -> bool:
    """Whether `path` lies inside the step or scope `ancestor`."""
    return path.startswith(ancestor + SEPARATOR)


def pattern(path: str) -> str:
    """The path with each map item's index written as ITEM, the same for every item: one
    node of a diagram, one label of a metric (branch names start with a letter)."""
    return SEPARATOR.join(ITEM if part.isdigit() else part for part in path.split(SEPARATOR))
