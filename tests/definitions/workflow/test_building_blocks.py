"""The pure pieces of workflows: durations, references, choice rules, retry decisions."""

from __future__ import annotations

import random

import pytest

from opscore.definitions.workflow.choice import choose, condition_problems, holds
from opscore.definitions.workflow.durations import parse_duration
from opscore.definitions.workflow.refs import PathError, references, resolve
from opscore.definitions.workflow.retry import Catcher, Retrier, decide

DATA = {
    "input": {"url": "http://x", "n": 3, "tags": ["a"]},
    "steps": {"fetch": {"output": {"items": [{"id": 7}], "ok": True}, "error": None}},
    "run": {"id": "r1"},
    "error": None,
}


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1.5h", 5400)]
)
def test_durations_read_as_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", "5 minutes", "-1s", "0s", 5, True, "8d", "9999h"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match=r"duration|7 days"):
        parse_duration(text)


def test_whole_value_references_keep_the_referenced_type():
    params = {
        "url": "$.input.url",
        "first": "$.steps.fetch.output.items[0].id",
        "all": ["$.input.tags", 1],
    }
    assert resolve(params, DATA) == {"url": "http://x", "first": 7, "all": [["a"], 1]}


def test_placeholders_interpolate_text_and_double_dollar_escapes():
    assert resolve("n={$.input.n} ok={$.steps.fetch.output.ok}", DATA) == "n=3 ok=true"
    assert resolve("$$.input.url", DATA) == "$.input.url"


@pytest.mark.parametrize(
    "path", ["$.input.missing", "$.steps.fetch.output.items[3]", "$.input.url.deeper"]
)
def test_reference_to_nothing_is_a_path_error(path):
    with pytest.raises(PathError, match="names nothing"):
        resolve(path, DATA)


@pytest.mark.parametrize("path", ["$.input..x", "$.input.x()", "$.__class__", "$.input[x]"])
def test_malformed_references_are_refused_not_evaluated(path):
    with pytest.raises(PathError):
        resolve(path, DATA)


def test_references_report_where_they_are():
    assert references({"a": ["x", "$.input.n"], "b": "id {$.run.id}"}) == [
        (("a", 1), "$.input.n"),
        (("b",), "$.run.id"),
    ]


@pytest.mark.parametrize(
    ("condition", "result"),
    [
        ({"path": "$.input.n", "equals": 3}, True),
        ({"path": "$.input.n", "greater_than": 2}, True),
        ({"path": "$.input.n", "less_or_equal": 2}, False),
        ({"path": "$.input.n", "greater_than": "2"}, False),
        ({"path": "$.input.url", "in": ["http://x", "y"]}, True),
        ({"path": "$.input.nope", "exists": False}, True),
        ({"path": "$.input.nope", "equals": None}, False),
        (
            {
                "all": [
                    {"path": "$.input.n", "equals": 3},
                    {"path": "$.steps.fetch.output.ok", "equals": True},
                ]
            },
            True,
        ),
        ({"any": [{"path": "$.input.n", "equals": 4}, {"path": "$.input.n", "equals": 5}]}, False),
        ({"not": {"path": "$.input.n", "equals": 4}}, True),
    ],
)
def test_choice_conditions(condition, result):
    assert condition_problems(condition) == []
    assert holds(condition, DATA) is result


def test_first_holding_rule_wins_else_default():
    rules = [
        {"when": {"path": "$.input.n", "equals": 9}, "next": "a"},
        {"when": {"path": "$.input.n", "equals": 3}, "next": "b"},
    ]
    assert choose(rules, "z", DATA) == "b"
    assert choose(rules[:1], "z", DATA) == "z"
    assert choose(rules[:1], None, DATA) is None


@pytest.mark.parametrize(
    "condition",
    [
        {"path": "$.x"},
        {"equals": 1},
        {"path": "$.x", "equals": 1, "in": [1]},
        {"all": []},
        {"not": {"path": "$.x"}},
        {"path": "$.x", "in": 3},
        "x",
    ],
)
def test_malformed_conditions_are_described(condition):
    assert condition_problems(condition)


RETRIERS = (
    Retrier(("Http.ServerError",), interval=1, backoff_rate=2, max_attempts=3, max_delay=3),
    Retrier(("ALL",), interval=10, max_attempts=1),
)
CATCHERS = (Catcher(("Http.ServerError",), "outage"), Catcher(("ALL",), "anything"))


def test_retry_delays_back_off_and_are_capped_by_max_delay():
    rng = random.Random(1)
    delays = [decide("Http.ServerError", RETRIERS, CATCHERS, {0: n}, rng).delay for n in range(3)]
    assert delays == [1, 2, 3]


def test_a_spent_retrier_hands_over_to_the_catchers_not_to_later_retriers():
    decision = decide("Http.ServerError", RETRIERS, CATCHERS, {0: 3}, random.Random(1))
    assert (decision.retrier, decision.catch) == (None, "outage")


def test_other_errors_use_the_all_retrier_then_the_all_catcher():
    assert decide("Boom", RETRIERS, CATCHERS, {}, random.Random(1)).retrier == 1
    assert decide("Boom", RETRIERS, CATCHERS, {1: 1}, random.Random(1)).catch == "anything"
    assert decide("Boom", (), (), {}, random.Random(1)) == decide("Boom", (), (), {}, None)


def test_full_jitter_stays_between_zero_and_the_delay():
    retrier = Retrier(("ALL",), interval=8, jitter="full")
    rng = random.Random(3)
    delays = [retrier.delay(0, rng) for _ in range(50)]
    assert all(0 <= d <= 8 for d in delays)
    assert len(set(delays)) > 1
