"""Request ids on every answer and log line, one access line per request, metrics that move."""

from __future__ import annotations

import io
import json
import re

import pytest

from opscore.api import create_app
from opscore.logs import configure_logging
from tests.support.constants import API_KEY, AUTH


@pytest.fixture
def logs():
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    configure_logging("WARNING", "text", stream=io.StringIO())


@pytest.fixture
def proxied_client(core):
    settings = {"api_keys": API_KEY, "log_level": "WARNING", "trusted_proxies": "10.0.0.0/8"}
    return create_app(settings, core=core).test_client()


@pytest.mark.parametrize(
    ("peer", "forwarded", "shown"),
    [
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # no trusted proxy: the peer
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),  # through a trusted proxy: its client
    ],
)
def test_the_access_line_names_the_client_as_the_brake_sees_it(
    proxied_client, logs, peer, forwarded, shown
):
    proxied_client.get(
        "/v1/agents",
        headers={**AUTH, "X-Forwarded-For": forwarded},
        environ_base={"REMOTE_ADDR": peer},
    )

    [access] = [line for line in logs() if line.get("route") == "/v1/agents"]
    assert access["client"] == shown


def test_a_sane_incoming_request_id_is_kept_and_echoed(client):
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 200, "<script>"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(client, incoming):
    response = client.get("/health", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_log_line_a_request_causes_carries_its_request_id(client, logs):
    client.post("/v1/agents", json={"id": "a1"}, headers=AUTH)
    client.post(
        "/v1/agents/a1/events",
        json={"event": "activate"},
        headers={**AUTH, "X-Request-ID": "req-7"},
    )
    lines = [line for line in logs() if line.get("request_id") == "req-7"]
    assert {line["message"] for line in lines} == {
        "agent a1 activate: idle -> active",
        f"POST /v1/agents/a1/events 200 {lines[-1]['duration_ms']}ms",
    }
    transition = next(line for line in lines if line.get("event") == "activate")
    assert (transition["source"], transition["dest"]) == ("idle", "active")


def test_each_request_writes_one_access_line_with_route_and_status(client, logs):
    client.get("/v1/agents/nope", headers=AUTH)
    [line] = [line for line in logs() if line.get("route")]
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "GET",
        "/v1/agents/nope",
        "/v1/agents/<id:agent_id>",
        404,
    )


def metric(client, name: str, **labels: str) -> float:
    """The value of one sample in /metrics (0 when absent)."""
    text = client.get("/metrics", headers=AUTH).text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{") or line.startswith(f"{name} "):
            sample, value = line.rsplit(" ", 1)
            found = sample[len(name) :].strip("{}")
            if ",".join(sorted(found.split(","))) == wanted or (not labels and not found):
                return float(value)
    return 0.0


def test_metrics_count_transitions_and_rejected_events(client):
    client.post("/v1/agents", json={"id": "m1"}, headers=AUTH)
    before = metric(
        client, "opscore_transitions_total", kind="agent", machine="agent", event="activate"
    )
    refused = metric(
        client, "opscore_events_rejected_total", kind="agent", machine="agent", reason="not_allowed"
    )
    client.post("/v1/agents/m1/events", json={"event": "activate"}, headers=AUTH)
    client.post("/v1/agents/m1/events", json={"event": "resume"}, headers=AUTH)
    assert (
        metric(client, "opscore_transitions_total", kind="agent", machine="agent", event="activate")
        == before + 1
    )
    assert (
        metric(
            client,
            "opscore_events_rejected_total",
            kind="agent",
            machine="agent",
            reason="not_allowed",
        )
        == refused + 1
    )


def test_metrics_count_http_requests_by_route_and_status(client):
    labels = {"route": "/v1/agents/<id:agent_id>", "method": "GET", "status": "404"}
    before = metric(client, "opscore_http_requests_total", **labels)
    client.get("/v1/agents/nope", headers=AUTH)
    assert metric(client, "opscore_http_requests_total", **labels) == before + 1


def test_metrics_show_the_queue_depth(client, core):
    core.runs.start("fetch_report", {"url": "http://127.0.0.1:9/report"})
    assert metric(client, "opscore_queue_depth") == 1.0


def test_metrics_accept_the_key_as_a_bearer_token(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer test-key"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
