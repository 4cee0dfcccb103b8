"""Hypothesis settings and strategies for the property tests of arbitrary input.

`OPSCORE_FUZZ_EXAMPLES` sets the examples per test (small by default so `make test`
stays quick; raise it to search harder). Runs are derandomized and keep no example
database, so CI and every laptop test the same inputs.
"""

from __future__ import annotations

import json
import os
import string
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("OPSCORE_FUZZ_EXAMPLES", "25"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # State built once per test on purpose: examples act on what earlier ones left.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: json.dumps writes them as bare words
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def deep(depth: int) -> dict:
    """An object nested `depth` levels."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


nested_objects = st.integers(min_value=1, max_value=40).map(deep)
names = st.sampled_from(["activate", "complete", "pause", "terminate", "start", "close"])
ids = st.text(string.ascii_letters + string.digits + "._:-", min_size=1, max_size=140)


def loose(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly values of `strategy`, sometimes any JSON at all."""
    return strategy | json_values


def shaped(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Objects with any subset of `fields`, each loosely typed, sometimes with an extra key."""
    known = st.fixed_dictionaries({}, optional={k: loose(v) for k, v in fields.items()})
    extra = st.dictionaries(st.text(max_size=8), json_values, max_size=1)
    return st.tuples(known, extra | st.just({})).map(lambda pair: {**pair[1], **pair[0]})


def as_json(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """JSON text of values drawn from `strategy` (NaN written the way Python writes it)."""
    return strategy.map(lambda value: json.dumps(value).encode())


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/merge-patch+json",
    "application/yaml",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    None,
]


def bodies(shape: st.SearchStrategy) -> st.SearchStrategy:
    """A request body: well-typed JSON, any JSON, or any bytes at all."""
    return (
        as_json(shape)
        | as_json(json_values)
        | as_json(nested_objects)
        | st.binary(max_size=200)
        | st.text(max_size=200).map(str.encode)
    )


def headers() -> st.SearchStrategy:
    """Content-Type, Idempotency-Key and If-Match, each present or not, valid or not."""
    header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)
    return st.fixed_dictionaries(
        {"Content-Type": st.sampled_from(CONTENT_TYPES)},
        optional={
            "Idempotency-Key": st.sampled_from(["k1", "k2"]) | header_text,
            "If-Match": st.just('"nope"') | header_text,
        },
    ).map(lambda found: {k: v for k, v in found.items() if v is not None})


def path_segment(known: list[str]) -> st.SearchStrategy:
    """An id or name in a path: a known one, or any text (percent-encoded)."""
    return st.sampled_from(known) | st.text(max_size=150).filter(bool).map(
        lambda text: quote(text, safe="")
    )
