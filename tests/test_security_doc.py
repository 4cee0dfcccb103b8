"""docs/security.md names the tests that cover each threat: every one it names exists."""

from __future__ import annotations

import re

from tests.support.constants import ROOT

TESTS = ROOT / "tests"
PAGE = (ROOT / "docs" / "security.md").read_text()


def test_every_test_file_the_security_page_names_exists():
    files = set(re.findall(r"`((?:[\w]+/)*test_\w+\.py)", PAGE))
    assert files
    assert sorted(f for f in files if not (TESTS / f).is_file()) == []


def test_every_test_function_the_security_page_names_exists():
    defined = {
        name
        for path in TESTS.rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)
    }
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", PAGE))
    assert named
    assert sorted(named - defined) == []


def test_every_test_the_security_page_names_with_its_file_is_defined_in_that_file():
    pairs = re.findall(r"`((?:\w+/)*test_\w+\.py)::(test_\w+)`", PAGE)
    assert pairs
    missing = [
        f"{file}::{name}"
        for file, name in pairs
        if not re.search(rf"^def {name}\(", (TESTS / file).read_text(), re.M)
    ]
    assert missing == []


def test_every_attack_of_issue_17_names_a_test_with_its_file():
    section = PAGE.partition("## Hostile clients and worker deaths (issue 17)")[2]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    assert len(rows) >= 11
    assert [row for row in rows if not re.search(r"`(?:\w+/)*test_\w+\.py::test_\w+`", row)] == []
