"""compose.yaml, the local development set-up: consistent with itself and with the image."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.support.backends import database_url, reset_postgres
from tests.support.constants import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
OPSCORE_SERVICES = ("migrate", "api", "worker")
FROM_ENVIRONMENT = re.compile(r"\$\{\w+(:-[^}]*)?\}")


def argv(service: dict) -> list[str]:
    """What the service's container runs: its entrypoint then its command."""
    return [*service.get("entrypoint", []), *service.get("command", [])]


def test_compose_runs_postgres_a_migration_the_api_and_a_worker():
    assert set(SERVICES) == {"postgres", *OPSCORE_SERVICES}


@pytest.mark.parametrize("name", OPSCORE_SERVICES)
def test_compose_builds_each_opscore_service_from_this_repository(name):
    build = SERVICES[name]["build"]
    context = build if isinstance(build, str) else build["context"]
    assert (ROOT / context).resolve() == ROOT
    assert (ROOT / context / "Dockerfile").is_file()
    assert SERVICES[name]["image"] == SERVICES["api"]["image"]


def test_compose_points_every_opscore_service_at_one_postgres_database():
    [url] = {SERVICES[name]["environment"]["OPSCORE_DATABASE_URL"] for name in OPSCORE_SERVICES}
    database, postgres = make_url(url), SERVICES["postgres"]["environment"]
    assert database.get_backend_name() == "postgresql"
    assert database.host == "postgres"
    assert database.username == postgres["POSTGRES_USER"]
    assert database.database == postgres["POSTGRES_DB"]


def test_compose_migrates_once_postgres_is_healthy():
    migrate = SERVICES["migrate"]
    assert argv(migrate) == ["opscore", "db", "upgrade"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "healthcheck" in SERVICES["postgres"]


@pytest.mark.parametrize("name", ["api", "worker"])
def test_compose_starts_the_api_and_worker_after_the_migration_succeeded(name):
    expected = {"migrate": {"condition": "service_completed_successfully"}}
    assert SERVICES[name]["depends_on"] == expected
    assert SERVICES[name]["environment"]["OPSCORE_MIGRATE_ON_START"] == "false"


def test_compose_worker_runs_opscore_worker_without_the_http_health_check():
    worker = SERVICES["worker"]
    assert argv(worker) == ["opscore", "worker"]
    assert worker["healthcheck"] == {"disable": True}


def test_compose_api_runs_the_image_entry_point_published_on_loopback_only():
    api = SERVICES["api"]
    assert argv(api) == []
    assert all(port.startswith("127.0.0.1:") for port in api["ports"])


def test_compose_api_takes_its_key_from_the_environment():
    assert FROM_ENVIRONMENT.fullmatch(SERVICES["api"]["environment"]["OPSCORE_API_KEYS"])


def test_compose_keeps_postgres_data_in_a_named_volume():
    [volume] = SERVICES["postgres"]["volumes"]
    name, _, path = volume.partition(":")
    assert name in COMPOSE["volumes"]
    assert path == "/var/lib/postgresql/data"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_compose_migration_command_runs_in_the_image(container, backend, tmp_path):
    url = database_url(backend, tmp_path)
    if backend == "postgresql":
        reset_postgres(url)
    result = container.run(argv(SERVICES["migrate"]), OPSCORE_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database schema: empty -> ")
