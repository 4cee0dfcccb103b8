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
