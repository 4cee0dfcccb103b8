"""API keys: every endpoint but health and docs requires one; keys never reach the logs."""

from __future__ import annotations

import io

import pytest

from opscore.api import create_app
from opscore.apikeys import DEV_API_KEY, KeyRing, digest
from opscore.config import ConfigError, Settings
from opscore.logs import configure_logging
from tests.support.constants import API_KEY, AUTH

PROTECTED = [
    ("get", "/v1/agents"),
    ("post", "/v1/agents"),
    ("get", "/v1/agents/a1"),
    ("delete", "/v1/agents/a1"),
    ("post", "/v1/agents/a1/events"),
    ("get", "/v1/agents/a1/history"),
    ("get", "/v1/agents/a1/sessions"),
    ("post", "/v1/agents/a1/sessions"),
    ("get", "/v1/sessions/s1"),
    ("post", "/v1/sessions/s1/events"),
    ("get", "/v1/sessions/s1/history"),
    ("get", "/v1/machines"),
    ("get", "/v1/machines/agent"),
    ("get", "/v1/machines/agent/diagram"),
    ("post", "/v1/machines/validate"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
def test_protected_endpoint_without_a_valid_key_is_401(client, method, path, headers):
    response = getattr(client, method)(path, headers=headers)
    assert response.status_code == 401
    assert response.json == {
        "code": 401,
        "status": "Unauthorized",
        "message": "a valid X-API-Key header is required",
    }
    assert response.headers["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs"])
def test_health_openapi_and_docs_are_public(client, path):
    assert client.get(path).status_code == 200


def test_stored_sha256_digest_is_accepted(core):
    app = create_app({"api_keys": f"sha256:{digest('s3cret')}", "log_level": "WARNING"}, core=core)
    client = app.test_client()
    assert client.get("/v1/agents", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/v1/agents", headers={"X-API-Key": digest("s3cret")}).status_code == 401


def test_several_keys_are_accepted():
    ring = KeyRing.parse(f" one, sha256:{digest('two')} ,,")
    assert ring.identify("one")
    assert ring.identify("two")
    assert ring.identify("three") is None


def test_malformed_digest_entry_is_a_config_error():
    with pytest.raises(ConfigError, match="64 hex digits"):
        KeyRing.parse("sha256:abc")


def test_development_key_is_used_only_on_loopback():
    ring = KeyRing.from_settings(Settings(host="127.0.0.1", api_keys=""))
    assert ring.development
    assert ring.identify(DEV_API_KEY)
    with pytest.raises(ConfigError, match="OPSCORE_API_KEYS is empty"):
        KeyRing.from_settings(Settings(host="0.0.0.0", api_keys=""))  # noqa: S104


def test_keys_never_appear_in_the_logs(core):
    app = create_app({"api_keys": API_KEY, "log_level": "DEBUG"}, core=core)
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer)
    client = app.test_client()
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    client.post("/v1/agents/a1/events", json={"event": "activate"}, headers=AUTH)
    client.get("/v1/agents", headers={"X-API-Key": "a-wrong-key"})
    logged = buffer.getvalue()
    assert "activate" in logged
    assert API_KEY not in logged
    assert "a-wrong-key" not in logged
