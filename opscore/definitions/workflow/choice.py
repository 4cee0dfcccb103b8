"""Choice rules: ordered `when` conditions on a run's data, compared with simple operators.

A condition is `{path: $.x, <operator>: value}` or a combination `{all: [...]}`,
`{any: [...]}`, `{not: {...}}`. Operators: equals, not_equals, in, exists,
greater_than, greater_or_equal, less_than, less_or_equal. Comparisons between values
of different kinds (a number and a string) are false, never an error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .refs import PathError, lookup

_MISSING = object()
COMBINATORS = ("all", "any", "not")


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, expected: Any) -> bool:
        numbers = (int, float)
        both_numbers = isinstance(value, numbers) and isinstance(expected, numbers)
        both_strings = isinstance(value, str) and isinstance(expected, str)
        if isinstance(value, bool) or isinstance(expected, bool):
            return False
        return (both_numbers or both_strings) and compare(value, expected)

    return check


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda value, expected: value is not _MISSING and value == expected,
    "not_equals": lambda value, expected: value is not _MISSING and value != expected,
    "in": lambda value, expected: value is not _MISSING and value in expected,
    "exists": lambda value, expected: (value is not _MISSING) == bool(expected),
    "greater_than": _ordered(operator.gt),
    "greater_or_equal": _ordered(operator.ge),
    "less_than": _ordered(operator.lt),
    "less_or_equal": _ordered(operator.le),
}


def condition_problems(condition: Any) -> list[str]:
    """What is wrong with a condition's shape (empty when it is well formed)."""
    if not isinstance(condition, Mapping):
        return ["a condition must be a mapping"]
    combinators = [k for k in COMBINATORS if k in condition]
    if combinators:
        if len(condition) != 1:
            return [f"'{combinators[0]}' must stand alone in its condition"]
        inner = condition[combinators[0]]
        if combinators[0] == "not":
            return condition_problems(inner)
        if not isinstance(inner, list) or not inner:
            return [f"'{combinators[0]}' needs a non-empty list of conditions"]
        return [problem for item in inner for problem in condition_problems(item)]
    operators = [k for k in condition if k in OPERATORS]
    unknown = sorted(set(condition) - {"path", *OPERATORS})
    if unknown:
        return [f"unknown operator(s): {', '.join(unknown)} (use {', '.join(OPERATORS)})"]
    if "path" not in condition or len(operators) != 1:
        return ["a condition needs a `path` and exactly one operator"]
    if operators[0] == "in" and not isinstance(condition["in"], list):
        return ["'in' needs a list"]
    return []


def condition_paths(condition: Mapping[str, Any]) -> list[str]:
    """Every path a well-formed condition reads."""
    for combinator in COMBINATORS:
        if combinator in condition:
            inner = condition[combinator]
            items = [inner] if combinator == "not" else inner
            return [path for item in items for path in condition_paths(item)]
    return [condition["path"]]


def holds(condition: Mapping[str, Any], data: Any) -> bool:
    """Whether a well-formed condition holds for the run's data."""
    if "all" in condition:
        return all(holds(item, data) for item in condition["all"])
    if "any" in condition:
        return any(holds(item, data) for item in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], data)
    try:
        value = lookup(data, condition["path"])
    except PathError:
        value = _MISSING
    name = next(k for k in condition if k in OPERATORS)
    return OPERATORS[name](value, condition[name])


def choose(rules: list[Mapping[str, Any]], default: str | None, data: Any) -> str | None:
    """The `next` of the first rule that holds, else `default`."""
    for rule in rules:
        if holds(rule["when"], data):
            return rule["next"]
    return default
