"""`opscore workflows ...` against a real service: list, show, diagram."""

from __future__ import annotations

import json


def test_list_prints_every_workflow_by_name(cli, api):
    result = cli("workflows", "list")
    assert result.exit_code == 0
    table = [line.split() for line in result.stdout.splitlines()]
    assert table[0] == ["NAME", "VERSION", "STEPS", "DESCRIPTION"]
    names = [w["name"] for w in json.loads(cli("workflows", "list", "--json").stdout)]
    assert [row[0] for row in table[1:]] == names
    assert "three_noops" in names


def test_show_prints_the_template(cli, api):
    result = cli("workflows", "show", "prepare_then_ask")
    assert result.exit_code == 0
    fields = {line.split("  ")[0]: line.split()[-1] for line in result.stdout.splitlines()}
    assert fields["start"] == "prepare"
    shown = json.loads(cli("workflows", "show", "prepare_then_ask", "--json").stdout)
    assert list(shown["steps"]) == ["prepare", "ask", "wrap_up"]


def test_diagram_prints_mermaid_text(cli, api):
    result = cli("workflows", "diagram", "three_noops")
    assert result.exit_code == 0
    assert "stateDiagram-v2" in result.stdout.splitlines()


def test_show_of_an_unknown_workflow_exits_3_naming_a_workflow(cli, api):
    result = cli("workflows", "show", "nope")
    assert (result.exit_code, result.stderr) == (3, "Error: workflow 'nope' not found\n")
