"""Key scopes, a brake on guessing keys, and the headers every answer carries."""

from __future__ import annotations

import hmac
import json

import pytest
from click.testing import CliRunner

from opscore.api import create_app
from opscore.apikeys import KeyRing, digest, new_key
from opscore.cli import main

KEYS = {"read": "reader-key", "write": "writer-key", "admin": "admin-key"}


@pytest.fixture
def scoped(core):
    entries = ",".join(f"{scope}:sha256:{digest(key)}" for scope, key in KEYS.items())
    app = create_app({"api_keys": entries, "log_level": "WARNING"}, core=core)
    core.agents.register(agent_id="a1")
    return app.test_client()


def as_(scope: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[scope]}


@pytest.mark.parametrize(("scope", "status"), [("read", 200), ("write", 200), ("admin", 200)])
def test_every_scope_may_read(scoped, scope, status):
    assert scoped.get("/v1/agents/a1", headers=as_(scope)).status_code == status


@pytest.mark.parametrize(("scope", "status"), [("read", 403), ("write", 200), ("admin", 200)])
def test_firing_an_event_needs_write(scoped, scope, status):
    response = scoped.post("/v1/agents/a1/events", json={"event": "activate"}, headers=as_(scope))
    assert response.status_code == status
    if status == 403:
        assert response.json == {
            "code": 403,
            "status": "Forbidden",
            "message": "this key's scope is read; this needs write",
        }


@pytest.mark.parametrize(("scope", "status"), [("read", 403), ("write", 403), ("admin", 204)])
def test_deleting_needs_admin(scoped, scope, status):
    assert scoped.delete("/v1/agents/a1", headers=as_(scope)).status_code == status


@pytest.mark.parametrize(("scope", "status"), [("write", 403), ("admin", 200)])
def test_reloading_definitions_needs_admin(scoped, scope, status):
    response = scoped.post("/v1/machines/reload", headers=as_(scope))
    assert response.status_code == status


def test_a_refused_scope_changes_nothing(scoped, core):
    scoped.post("/v1/agents/a1/events", json={"event": "activate"}, headers=as_("read"))
    scoped.delete("/v1/agents/a1", headers=as_("write"))
    assert core.agents.get("a1").state == "idle"


def test_unscoped_entries_are_admin_keys():
    [key] = KeyRing.parse("plain-key").keys
    assert key.scope == "admin"


def test_keys_new_prints_a_key_once_and_the_digest_entry_that_accepts_it():
    result = CliRunner().invoke(main, ["keys", "new", "--scope", "write"])
    assert result.exit_code == 0
    key_line, config_line = result.stdout.splitlines()
    key = key_line.removeprefix("key:    ")
    entry = config_line.removeprefix("config: ")
    assert entry == f"write:sha256:{digest(key)}"
    assert key not in entry
    [accepted] = KeyRing.parse(entry).keys
    assert (accepted.scope, KeyRing.parse(entry).identify(key)) == ("write", accepted)


def test_new_keys_are_random_and_long():
    first, second = new_key("read")[0], new_key("read")[0]
    assert first != second
    assert len(first) >= 40


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "nope"}, {"X-API-Key": KEYS["read"][:-1]}, {"Authorization": "Bearer nope"}],
)
def test_failed_authentication_answers_are_all_alike(scoped, headers):
    response = scoped.get("/v1/agents", headers=headers)
    assert (response.status_code, response.json["message"]) == (
        401,
        "a valid X-API-Key header is required",
    )


def test_identify_compares_against_every_key_whatever_is_presented(monkeypatch):
    ring = KeyRing.parse(",".join(KEYS.values()))
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(b) or real(a, b))
    for presented in (None, "", "nope", KEYS["read"]):
        compared.clear()
        ring.identify(presented)
        assert len(compared) == len(KEYS)


def test_repeated_failures_from_one_client_are_braked_with_429(scoped):
    for _ in range(20):
        assert scoped.get("/v1/agents", headers={"X-API-Key": "guess"}).status_code == 401
    braked = scoped.get("/v1/agents", headers={"X-API-Key": "guess"})
    assert braked.status_code == 429
    assert int(braked.headers["Retry-After"]) >= 1
    assert scoped.get("/health").status_code == 200


def test_answers_carry_nosniff_and_api_answers_are_not_cached(scoped):
    for path, headers in (("/health", {}), ("/v1/agents", as_("read")), ("/v1/agents", {})):
        response = scoped.get(path, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/docs", "/ui"])
def test_pages_carry_a_strict_content_security_policy(scoped, path):
    response = scoped.get(path, follow_redirects=True)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_keys_new_defaults_to_admin_like_a_key_entry_without_a_scope_and_prints_json():
    result = CliRunner().invoke(main, ["keys", "new", "--json"])
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert answer["scope"] == "admin"
    assert answer["config"] == f"admin:sha256:{digest(answer['key'])}"
    [unscoped] = KeyRing.parse(answer["key"]).keys
    assert unscoped.scope == answer["scope"]
