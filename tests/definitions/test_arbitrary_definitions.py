"""Property: the definition loader turns any text into a definition or located problems.

It never raises, never runs code named in the text, and loads nothing that has an error.
"""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from opscore.definitions import LoadResult, load_text
from opscore.tasks.builtin import builtin_tasks
from tests.support import fuzz
from tests.support.constants import MACHINES, TEST_MACHINES

CODE_RAN: list[str] = []


def run_code(*args: object) -> None:
    """What a definition would call if YAML could run code; nothing should."""
    CODE_RAN.append(repr(args))


HOSTILE = f"{__name__}.run_code"
TOKENS = [
    ": ",
    "- ",
    "\n",
    "\n  ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "&a ",
    "*a",
    "<<: *a\n",
    "? ",
    "!!binary ",
    "!!set ",
    "!!str ",
    "!!int ",
    "!!float ",
    f"!!python/object/apply:{HOSTILE} []",
    f"!!python/name:{HOSTILE}",
    "!<tag:yaml.org,2002:python/none> ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "'",
    '"',
    "\\u0000",
    "\t",
    "\x00",
    "\ufeff",
    "kind: ",
    "workflow",
    "agent",
    "states: ",
    "steps: ",
    "transitions: ",
    "$.input.x",
    "{$.steps.s.output}",
    "1e400",
    ".nan",
    "yes",
    "~",
]
token_soup = st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=40).map("".join)

SAMPLES = [
    path.read_text()
    for folder in (MACHINES, MACHINES / "workflows", TEST_MACHINES / "valid")
    for path in sorted(folder.iterdir())
    if path.suffix in (".yaml", ".json")
]


@st.composite
def mutated_samples(draw: st.DrawFn) -> str:
    """A shipped definition with a few random cuts and insertions."""
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        else:
            text = text[:at] + draw(st.sampled_from(TOKENS) | st.text(max_size=8)) + text[at:]
    return text


names = st.sampled_from(["a", "b", "s", "idle", "active", "failed", "succeeded", "on", "1x"])
refs = st.sampled_from(["$.input.x", "$.steps.s.output", "$.nope", "$.", "{$.input.x}", "$$x"])
durations = st.sampled_from(["1s", "500ms", "5m", "1h", "8d", "0s", "-1s", "soon"])
conditions = st.recursive(
    st.fixed_dictionaries(
        {"path": refs | fuzz.json_values},
        optional={
            "equals": fuzz.json_values,
            "in": fuzz.json_values,
            "greater_than": fuzz.json_values,
            "bigger": fuzz.json_values,
        },
    ),
    lambda inner: st.fixed_dictionaries({}, optional={"all": st.lists(inner), "not": inner}),
    max_leaves=6,
)
rules = st.lists(fuzz.shaped({"errors": st.lists(names), "next": names}), max_size=2)
steps = st.one_of(
    fuzz.shaped(
        {
            "task": st.sampled_from(["noop", "log", "wait", "http", "agent", "teleport"]),
            "params": st.dictionaries(names, refs | fuzz.json_values, max_size=3),
            "next": names,
            "timeout": durations,
            "retry": rules,
            "catch": rules,
        }
    ),
    fuzz.shaped(
        {"choice": st.lists(fuzz.shaped({"when": conditions, "next": names})), "default": names}
    ),
    fuzz.shaped({"wait": durations, "next": names}),
)
states = st.lists(
    names | fuzz.shaped({"name": names, "final": st.booleans(), "on_enter": names}), max_size=4
)
transitions = st.lists(
    fuzz.shaped(
        {
            "trigger": names,
            "source": names | st.lists(names) | st.just("*"),
            "dest": names,
            "conditions": st.sampled_from(["is_below_failure_limit", "os.system", HOSTILE]),
        }
    ),
    max_size=4,
)
shaped_documents = fuzz.shaped(
    {
        "kind": st.sampled_from(["agent", "session", "workflow"]),
        "name": names,
        "version": st.integers(-1, 3),
        "initial": names,
        "states": states,
        "transitions": transitions,
        "start": names,
        "steps": st.dictionaries(names, steps, max_size=4),
        "input": fuzz.shaped({"type": st.sampled_from(["object", "objekt"]), "required": names}),
        "timeout": durations,
        "agent": fuzz.shaped({"on_start": names}),
    }
)
documents = st.one_of(
    st.text(max_size=200),
    token_soup,
    mutated_samples(),
    shaped_documents.map(lambda doc: yaml.safe_dump(doc, sort_keys=False)),
    shaped_documents.map(json.dumps),
)


@pytest.fixture
def task_types():
    return builtin_tasks()


@given(text=documents)
@fuzz.FUZZ
def test_any_text_loads_as_a_definition_or_as_located_problems_and_never_raises(
    callbacks, task_types, text
):
    result = load_text(text, "fuzz.yaml", callbacks, task_types=task_types)
    assert isinstance(result, LoadResult)
    assert all(str(problem).startswith("fuzz.yaml:") for problem in result.problems)
    assert (result.definition is None) == bool(result.errors)


@given(text=token_soup | mutated_samples())
@fuzz.FUZZ
def test_no_text_makes_the_loader_run_code(callbacks, task_types, text):
    load_text(f"{text}\nx: !!python/object/apply:{HOSTILE} []\n", "fuzz.yaml", callbacks)
    load_text(text, "fuzz.yaml", callbacks, task_types=task_types)
    assert CODE_RAN == []
