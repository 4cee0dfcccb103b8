"""The HTTP contract: error shapes, limits, content types, OpenAPI, offline docs."""

from __future__ import annotations

import re

import pytest

from opscore.api import create_app
from tests.support.constants import API_KEY, AUTH


def test_every_error_has_code_status_and_message(client):
    for response in (
        client.get("/v1/agents/nope", headers=AUTH),
        client.get("/v1/agents"),
        client.put("/v1/agents", headers=AUTH),
        client.get("/v1/nowhere", headers=AUTH),
    ):
        assert response.status_code >= 400
        assert {"code", "status", "message"} <= set(response.json)
        assert response.json["code"] == response.status_code


def test_method_not_allowed_is_405_with_allow_header(client):
    response = client.put("/v1/agents", headers=AUTH)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_oversized_body_is_413_and_changes_nothing(core):
    app = create_app(
        {"api_keys": API_KEY, "log_level": "WARNING", "max_body_bytes": 1000}, core=core
    )
    client = app.test_client()
    response = client.post("/v1/agents", json={"name": "x" * 2000}, headers=AUTH)
    assert response.status_code == 413
    assert response.json["code"] == 413
    assert core.agents.list().total == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"name=x", "application/x-www-form-urlencoded", 415),
        (b"<agent/>", "text/xml", 415),
        (b"{not json", "application/json", 422),
        (b'{"name": NaN}', "application/json", 422),
        (b"\xff", "application/json", 422),
        (b"[" * 50_000, "application/json", 422),
        (b"[]", "application/json", 422),
    ],
)
def test_non_json_body_is_415_or_422_never_500(client, core, data, content_type, status):
    response = client.post("/v1/agents", data=data, headers={**AUTH, "Content-Type": content_type})
    assert response.status_code == status
    assert response.json["code"] == status
    assert core.agents.list().total == 0


def test_debug_mode_is_off_even_when_flask_debug_is_set(monkeypatch, core):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)
    assert app.debug is False


def test_openapi_describes_every_route_with_security_and_errors(client, app):
    spec = client.get("/openapi.json").json
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1") or rule.rule in ("/health", "/metrics")
    }
    assert routes == set(spec["paths"])
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert spec["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}]
    assert spec["paths"]["/health"]["get"]["security"] == []
    event = spec["paths"]["/v1/agents/{agent_id}/events"]["post"]
    assert {"401", "404", "409", "412", "413", "415", "422"} <= set(event["responses"])
    listing = spec["paths"]["/v1/agents"]["get"]["responses"]["200"]
    assert "X-Pagination" in listing["headers"]


def test_docs_page_and_assets_are_served_locally_without_any_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls
    assert all(url.startswith("/docs/static/") for url in urls)
    assert "http" not in page.text
    for url in urls:
        with client.get(url) as asset:
            assert asset.status_code == 200
    assert client.get("/docs/static/secrets.txt").status_code == 404
