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


def test_gc_thresholds_default_to_a_young_generation_of_fifty_thousand():
    assert Settings.from_env({}).gc_thresholds == (50_000, 20, 20)


def test_gc_thresholds_read_three_numbers_or_python_for_its_own():
    assert Settings.from_env({"OPSCORE_GC_THRESHOLDS": "2000, 10,5"}).gc_thresholds == (2000, 10, 5)
    assert Settings.from_env({"OPSCORE_GC_THRESHOLDS": "Python"}).gc_thresholds is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("50000,20", "must be three whole numbers, such as 50000,20,20, or python"),
        ("50000,20,x", "must be three whole numbers, such as 50000,20,20, or python"),
        ("50000,-1,20", "must be three whole numbers, such as 50000,20,20, or python"),
        ("50000,0,20", "each must be at least 1"),
    ],
)
def test_gc_thresholds_refuse_anything_else_naming_the_variable(text, reason):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"OPSCORE_GC_THRESHOLDS": text})
    assert str(refused.value) == f"OPSCORE_GC_THRESHOLDS={text!r}: {reason}"
