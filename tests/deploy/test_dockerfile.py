"""What the Dockerfile and .dockerignore promise, read without a Docker engine."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from opscore.config import Settings
from opscore.serve import GUNICORN_CONFIG, WSGI_APP
from tests.support.constants import ROOT

from .dockerfile import Stage, ignore_patterns, is_ignored, read_dockerfile

STAGES = read_dockerfile(ROOT / "Dockerfile")
RUNTIME = STAGES[-1]
IMAGE_ENV = RUNTIME.env({"PATH": "/usr/local/bin:/usr/bin:/bin"})


def _copies(stage: Stage) -> list[tuple[str | None, str, str]]:
    """(stage copied from or None for the build context, source, target) of each COPY."""
    found = []
    for copy in stage.all("COPY"):
        options, paths = copy.options()
        source, target = paths.split()
        found.append((options.get("from"), source, target))
    return found


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.name)
def test_every_stage_starts_from_an_exact_python_3_11_slim_release(stage):
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", stage.base), stage.base


def test_image_runs_as_a_numeric_non_root_user():
    user = RUNTIME.last("USER").text
    assert re.fullmatch(r"\d+:\d+", user), user
    assert "0" not in user.split(":")


def test_runtime_stage_copies_only_the_built_virtualenv_and_the_machines():
    assert _copies(RUNTIME) == [
        ("build", "/opt/venv", "/opt/venv"),
        (None, "machines/", "/app/machines/"),
    ]


def test_runtime_stage_installs_nothing_of_its_own():
    commands = " ".join(run.text for run in RUNTIME.all("RUN"))
    assert not re.search(r"\b(pip|apt-get|apt|dpkg)\b", commands), commands


def test_image_entry_point_is_the_gunicorn_config_and_app_opscore_serve_runs():
    assert RUNTIME.command() == ["gunicorn", "--config", GUNICORN_CONFIG, WSGI_APP]


def test_image_env_names_only_real_settings():
    settings = {f"OPSCORE_{field.name.upper()}" for field in fields(Settings)}
    assert {name for name in IMAGE_ENV if name.startswith("OPSCORE_")} <= settings


def test_image_keeps_its_database_under_its_volume_and_migrates_it_on_start():
    [volume] = RUNTIME.last("VOLUME").exec_form()
    database = IMAGE_ENV["OPSCORE_DATABASE_URL"].removeprefix("sqlite:///")
    assert Path(database).parent == Path(volume)
    assert Settings.from_env(IMAGE_ENV).migrate_on_start is True


def test_image_exposes_the_port_it_listens_on_for_every_address():
    settings = Settings.from_env(IMAGE_ENV)
    assert RUNTIME.last("EXPOSE").text == str(settings.port)
    assert settings.host == "0.0.0.0"  # noqa: S104
    assert settings.machines_dir == "/app/machines"


def test_image_holds_no_keys_or_secrets():
    assert not [name for name in IMAGE_ENV if re.search(r"KEY|PASSWORD|SECRET|TOKEN", name)]


@pytest.mark.parametrize(
    "path",
    [
        ".git",
        ".venv/bin/python",
        "var/opscore.db",
        "tests/conftest.py",
        "docs/api.md",
        "opscore/__pycache__/wsgi.cpython-311.pyc",
        ".pytest_cache/v",
        ".ruff_cache/x",
        "opscore.egg-info/PKG-INFO",
        "build/lib/opscore/wsgi.py",
        "test-artifacts/ui.png",
    ],
)
def test_build_context_leaves_out_what_the_image_is_not_built_from(path):
    assert is_ignored(path, ignore_patterns(ROOT / ".dockerignore"))


@pytest.mark.parametrize(
    "path",
    [
        "setup.cfg",
        "pyproject.toml",
        "README.md",
        "opscore/wsgi.py",
        "machines/agent.yaml",
        "opscore/api/ui/static/vendor/mermaid.min.js",
    ],
)
def test_build_context_keeps_what_the_wheel_is_built_from(path):
    assert not is_ignored(path, ignore_patterns(ROOT / ".dockerignore"))
