"""The definition loader reads YAML and JSON safely, with strict scalars and exact locations."""

from __future__ import annotations

import json

import pytest
import yaml

from opscore.definitions import load_file, load_text, yamlsafe
from opscore.definitions.problems import DefinitionError
from opscore.definitions.yamlsafe import parse_document
from tests.support.constants import TEST_MACHINES


def test_on_off_yes_no_stay_strings_as_states_and_triggers(callbacks):
    result = load_file(TEST_MACHINES / "valid" / "switch.yaml", callbacks)
    definition = result.definition
    assert definition.state_names == ("no", "yes", "off")
    assert definition.events == ("on", "off", "unplug")


def test_json_definition_with_tabs_loads_like_yaml(callbacks):
    result = load_file(TEST_MACHINES / "valid" / "chat.json", callbacks)
    assert result.problems == []
    assert (result.definition.kind, result.definition.name, result.definition.version) == (
        "session",
        "chat",
        2,
    )


CHAT = {
    "kind": "session",
    "name": "chat",
    "version": 1,
    "initial": "open",
    "states": [{"name": "open"}, {"name": "closed", "final": True}],
    "transitions": [{"trigger": "close", "source": "open", "dest": "closed"}],
}


@pytest.mark.parametrize(
    "description", ["launch \U0001f680", "an escaped backslash then text: \\ud83d\\ude80"]
)
def test_json_definition_with_escaped_surrogate_pairs_loads_the_text_json_dumps_wrote(
    tmp_path, callbacks, description
):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({**CHAT, "description": description}))  # ensure_ascii escapes
    result = load_file(path, callbacks)
    assert result.problems == []
    assert result.definition.description == description


def test_escaped_surrogate_pair_in_yaml_single_quotes_stays_text():
    text = "name: x\ndescription: '\\ud83d\\ude80'\n"
    assert parse_document(text, "x.yaml").data["description"] == "\\ud83d\\ude80"


def test_dates_stay_strings():
    assert parse_document("when: 2026-11-24\n", "d.yaml").data == {"when": "2026-11-24"}


def test_lines_are_recorded_for_nested_paths():
    doc = parse_document("a:\n  b:\n    - x\n    - y\n", "d.yaml")
    assert doc.line_of(("a", "b", 1)) == 4
    assert doc.line_of(("a", "b", 1, "missing")) == 4


def test_recursive_alias_is_rejected_not_followed_forever():
    with pytest.raises(DefinitionError) as caught:
        parse_document("a: &a [*a]\n", "r.yaml")
    assert "nested deeper than" in caught.value.problems[0].message


@pytest.mark.parametrize("text", ["[" * 5000, "{a: " * 5000, "a: [{b: [" * 2000])
def test_flow_collections_nested_thousands_deep_are_a_problem_not_a_recursion_error(text):
    # PyYAML's composer recurses once per level: this used to raise RecursionError.
    with pytest.raises(DefinitionError) as caught:
        parse_document(text, "deep.yaml")
    assert caught.value.problems[0].message == "document is nested deeper than 64 levels"


def test_a_control_character_is_a_located_problem_not_a_reader_error():
    # PyYAML checks every character when the loader is built, outside our error handling.
    with pytest.raises(DefinitionError) as caught:
        parse_document("a: 1\nb: \x1f\n", "ctl.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.message) == (
        2,
        "unacceptable character #x001f: special characters are not allowed",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a: !!float ""\n', "cannot read '' as tag:yaml.org,2002:float"),
        ('a: !!int ""\n', "cannot read '' as tag:yaml.org,2002:int"),
        ('!!int "" : b\n', "cannot read '' as tag:yaml.org,2002:int"),
    ],
)
def test_an_explicitly_tagged_value_its_tag_cannot_read_is_a_located_problem(text, message):
    # PyYAML's int and float constructors raised IndexError on an empty value.
    with pytest.raises(DefinitionError) as caught:
        parse_document(text, "tag.yaml")
    assert caught.value.problems[0].message == message


def test_non_utf8_file_is_a_located_problem(tmp_path, callbacks):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    [problem] = load_file(path, callbacks).problems
    assert (problem.line, problem.path) == (1, "(root)")
    assert problem.message.startswith("not UTF-8 text")


def test_same_content_in_yaml_and_json_has_the_same_hash(callbacks):
    yaml_text = (
        "kind: session\nname: s\nversion: 1\ninitial: a\nstates: [a, {name: b, final: true}]\n"
        "transitions: [{trigger: close, source: a, dest: b}]\n"
    )
    json_text = (
        '{"kind": "session", "name": "s", "version": 1, "initial": "a", "states": '
        '[{"name": "a"}, {"name": "b", "final": true}], '
        '"transitions": [{"source": "a", "dest": "b", "trigger": "close"}]}'
    )
    first = load_text(yaml_text, "s.yaml", callbacks).definition
    second = load_text(json_text, "s.json", callbacks).definition
    assert first.content_hash == second.content_hash


def test_warning_does_not_stop_a_definition_from_loading(callbacks):
    result = load_file(TEST_MACHINES / "warnings" / "dead_end.yaml", callbacks)
    assert result.definition is not None
    assert [str(p) for p in result.problems] == [
        f"{TEST_MACHINES / 'warnings' / 'dead_end.yaml'}:7: states[1]: warning: "
        "state 'stuck' is not final and has no way out"
    ]


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML was built without libyaml")
def test_definitions_are_scanned_by_libyaml_when_pyyaml_has_it():
    # Loading 200 files takes a third of the time with libyaml's scanner (make bench).
    from yaml._yaml import CParser

    assert issubclass(yamlsafe._StrictLoader, CParser)
    assert parse_document("a: [1, {b: on}]\n", "fast.yaml").data == {"a": [1, {"b": "on"}]}
