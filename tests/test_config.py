"""Settings from `OPSCORE_*` variables: what they accept and what they refuse."""

from __future__ import annotations

import pytest

from opscore.config import ConfigError, Settings


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_migrate_on_start_reads_the_usual_words_for_true_and_false(text, value):
    assert Settings.from_env({"OPSCORE_MIGRATE_ON_START": text}).migrate_on_start is value


def test_migrate_on_start_is_off_unless_asked_for():
    assert Settings.from_env({}).migrate_on_start is False


def test_migrate_on_start_refuses_other_words_naming_the_variable():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"OPSCORE_MIGRATE_ON_START": "maybe"})
    assert str(refused.value) == "OPSCORE_MIGRATE_ON_START='maybe': must be true or false"
