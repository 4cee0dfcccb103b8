"""Every file of tests/machines/invalid has one defect, reported at its exact place."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from opscore.cli import main
from opscore.definitions import DefinitionRegistry, load_file
from opscore.definitions.problems import DefinitionError
from tests.support.constants import TEST_MACHINES

INVALID = TEST_MACHINES / "invalid"

EXPECTED = [
    ("alias_bomb.yaml", 2, "e[7][8][8][8][8]", "document has more than 100000 nodes"),
    (
        "bad_state_name.yaml",
        7,
        "states[1].name",
        "must start with a letter and use only letters, digits, _ and -",
    ),
    (
        "dotted_action_path.yaml",
        17,
        "transitions[1].after[0]",
        "unknown action 'os.getcwd' (not in the registry; dotted paths are never imported)",
    ),
    (
        "bad_source_name.yaml",
        13,
        "transitions[1].source[1]",
        "must start with a letter and use only letters, digits, _ and -",
    ),
    ("duplicate_key.yaml", 6, "initial", "duplicate key 'initial' (first at line 4)"),
    ("duplicate_state.yaml", 8, "states[2].name", "duplicate state 'active' (first at states[1])"),
    ("empty.yaml", 1, "(root)", "the document is empty"),
    (
        "final_state_outgoing.yaml",
        18,
        "transitions[2].source",
        "final state 'done' cannot have an outgoing transition",
    ),
    ("final_yes_is_not_boolean.yaml", 9, "states[2].final", "Not a valid boolean."),
    (
        "float_tag_without_value.yaml",
        4,
        "version",
        "cannot read '' as tag:yaml.org,2002:float",
    ),
    (
        "heartbeat_unknown_event.yaml",
        12,
        "heartbeat.missed",
        "unknown event 'vanish' (not a trigger)",
    ),
    ("kind_is_a_list.yaml", 2, "kind", "must be one of: agent, session, workflow"),
    ("missing_initial.yaml", 1, "initial", "Missing data for required field."),
    ("missing_trigger.yaml", 11, "transitions[0].trigger", "Missing data for required field."),
    ("no_states.yaml", 5, "states", "Shorter than minimum length 1."),
    ("not_a_mapping.yaml", 1, "(root)", "the document must be a mapping"),
    (
        "python_name_scalar.yaml",
        7,
        "states[0].description",
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:os.system'",
    ),
    (
        "python_tag_never_runs.yaml",
        7,
        "states[0].description",
        "unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    (
        "python_tag_on_mapping.yaml",
        6,
        "states[0]",
        "unsupported tag 'tag:yaml.org,2002:python/object:collections.OrderedDict'",
    ),
    (
        "reserved_trigger.yaml",
        14,
        "transitions[1].trigger",
        "trigger 'to_done' collides with a name the engine reserves",
    ),
    (
        "session_cannot_close.yaml",
        7,
        "states[1]",
        "session state 'busy' has no 'close' transition to a final state",
    ),
    (
        "shadowed_trigger.yaml",
        17,
        "transitions[2].trigger",
        "trigger 'start' from 'idle' can never be taken: "
        "transitions[0] has no condition and always wins",
    ),
    (
        "two_documents.yaml",
        3,
        "(root)",
        "expected a single document in the stream but found another document",
    ),
    (
        "unknown_condition.yaml",
        17,
        "transitions[1].conditions[0]",
        "unknown condition 'is_ready' (not in the registry)",
    ),
    ("unknown_dest.yaml", 13, "transitions[0].dest", "unknown state 'actve'"),
    ("unknown_dest_in_json.json", 8, "transitions[0].dest", "unknown state 'dne'"),
    ("unknown_field.yaml", 4, "colour", "Unknown field."),
    ("unknown_initial.yaml", 4, "initial", "unknown state 'sleeping'"),
    ("unknown_kind.yaml", 1, "kind", "must be one of: agent, session, workflow"),
    (
        "unknown_on_enter_action.yaml",
        8,
        "states[1].on_enter[0]",
        "unknown action 'launch_rockets' (not in the registry)",
    ),
    ("unknown_source.yaml", 15, "transitions[1].source", "unknown state 'actve'"),
    ("unknown_source_in_list.yaml", 15, "transitions[1].source[1]", "unknown state 'actve'"),
    ("unreachable_state.yaml", 8, "states[2]", "unreachable state 'lost' (no path from 'idle')"),
    ("version_not_integer.yaml", 3, "version", "Not a valid integer."),
    ("version_zero.yaml", 3, "version", "Must be greater than or equal to 1."),
    ("wildcard_not_alone.yaml", 15, "transitions[1].source[0]", '"*" must stand alone'),
    (
        "yaml_syntax.yaml",
        7,
        "(root)",
        "while parsing a block collection did not find expected '-' indicator",
    ),
]


# A problem in a field no graph check reads hides none of the graph's problems.
TOGETHER = {
    "bad_name_hides_no_unknown_dest.yaml": [
        (2, "name", "must start with a letter and use only letters, digits, _ and -"),
        (11, "transitions[0].dest", "unknown state 'dnoe'"),
    ],
    "bad_description_hides_no_unreachable_state.yaml": [
        (7, "states[0].description", "Not a valid string."),
        (8, "states[1]", "unreachable state 'lost' (no path from 'idle')"),
    ],
}


def test_every_invalid_file_has_an_expectation():
    expected = [e[0] for e in EXPECTED] + list(TOGETHER)
    assert sorted(p.name for p in INVALID.iterdir()) == sorted(expected)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize(("name", "problems"), sorted(TOGETHER.items()))
def test_a_field_problem_and_the_graph_problems_are_reported_together(callbacks, name, problems):
    result = load_file(INVALID / name, callbacks)
    assert result.definition is None
    assert [(p.line, p.path, p.message) for p in result.problems] == problems


@pytest.mark.parametrize(("name", "line", "path", "message"), EXPECTED)
def test_invalid_definition_reports_one_problem_at_its_location(
    callbacks, name, line, path, message
):
    result = load_file(INVALID / name, callbacks)
    assert result.definition is None
    assert [(p.line, p.path, p.message) for p in result.problems] == [(line, path, message)]


@pytest.mark.parametrize(("name", "line", "path", "message"), EXPECTED)
def test_cli_check_exits_1_naming_file_line_path_and_message(name, line, path, message):
    file = INVALID / name
    result = CliRunner().invoke(main, ["machines", "check", str(file)])
    assert result.exit_code == 1
    assert result.output == f"{file}:{line}: {path}: {message}\n"


def test_registry_load_reports_every_error_of_every_file_at_once(callbacks):
    with pytest.raises(DefinitionError) as caught:
        DefinitionRegistry().load([INVALID], callbacks)
    assert len(caught.value.problems) == len(EXPECTED) + sum(map(len, TOGETHER.values()))


def test_registry_adds_nothing_when_any_file_is_invalid(callbacks):
    registry = DefinitionRegistry()
    with pytest.raises(DefinitionError):
        registry.load([TEST_MACHINES / "valid", INVALID / "unknown_dest.yaml"], callbacks)
    assert len(registry) == 0
