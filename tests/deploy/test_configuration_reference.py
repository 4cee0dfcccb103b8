"""The configuration tables of the docs name every setting, with its real default."""

from __future__ import annotations

from dataclasses import MISSING, fields

import pytest

from opscore.config import Settings
from tests.support.constants import ROOT

from .dockerfile import read_dockerfile

# Read by the client and the CLI (opscore.client), not by the service's Settings.
CLIENT_VARIABLES = {"OPSCORE_URL", "OPSCORE_API_KEY"}
# `processes` 0 means "choose": two with a SQL store (the default), one with memory://.
DOCUMENTED_DEFAULTS = {"processes": str(Settings().web_processes)}


def table(document: str, heading: str) -> dict[str, list[str]]:
    """The rows of the first table after `heading`: first cell (unquoted) -> the others."""
    text = (ROOT / document).read_text()
    lines = text.split(heading, 1)[1].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("|"))
    rows = {}
    for line in lines[start + 2 :]:  # past the header and its rule
        if not line.startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def default_text(value: object) -> str:
    """A default as the tables write it."""
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


SETTINGS = {
    f"OPSCORE_{field.name.upper()}": DOCUMENTED_DEFAULTS.get(field.name)
    or default_text(field.default)
    for field in fields(Settings)
    if field.default is not MISSING
}
REFERENCES = [
    ("docs/deployment.md", "## Configuration reference"),
    ("README.md", "## Configuration"),
]


@pytest.mark.parametrize(("document", "heading"), REFERENCES)
def test_configuration_reference_names_every_setting(document, heading):
    assert set(SETTINGS) - set(table(document, heading)) == set()


@pytest.mark.parametrize(("document", "heading"), REFERENCES)
def test_configuration_reference_names_no_unknown_variable(document, heading):
    assert set(table(document, heading)) - set(SETTINGS) - CLIENT_VARIABLES == set()


@pytest.mark.parametrize(("document", "heading"), REFERENCES)
def test_configuration_reference_gives_each_setting_its_real_default(document, heading):
    documented = {name: row[0] for name, row in table(document, heading).items()}
    wrong = {
        name: (documented[name], default)
        for name, default in SETTINGS.items()
        if name in documented and documented[name] != default
    }
    assert wrong == {}


def test_deployment_docs_list_exactly_the_variables_the_image_sets():
    image_env = read_dockerfile(ROOT / "Dockerfile")[-1].env({})
    documented = {
        name: row[0] for name, row in table("docs/deployment.md", "The image sets").items()
    }
    assert documented == {name: v for name, v in image_env.items() if name.startswith("OPSCORE_")}
