"""Every input has a size limit; past it the answer is a 413 or 422 whose message names it."""

from __future__ import annotations

import io

import pytest

from opscore.api import create_app
from opscore.clock import SystemClock
from opscore.core import OpsCore
from opscore.services.validation import Limits
from opscore.store import MemoryStore
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH


def nested(depth: int) -> dict:
    """A JSON object `depth` levels deep."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


@pytest.fixture
def small_body_client(core):
    app = create_app(
        {"api_keys": API_KEY, "log_level": "WARNING", "max_body_bytes": 1000}, core=core
    )
    return app.test_client()


@pytest.fixture
def agent_id(client):
    assert client.post("/v1/agents", json={"id": "a1"}, headers=AUTH).status_code == 201
    return "a1"


def message_of(response, status: int) -> str:
    assert response.status_code == status, response.json
    return response.json["message"]


def test_body_over_the_limit_is_413_naming_its_size_the_limit_and_the_setting(
    small_body_client,
):
    response = small_body_client.post("/v1/agents", json={"name": "x" * 2000}, headers=AUTH)
    assert message_of(response, 413) == (
        "request body is 2012 bytes; the limit is 1000 (OPSCORE_MAX_BODY_BYTES)"
    )


def test_chunked_body_over_the_limit_is_413_not_cut_to_the_limit(small_body_client, core):
    # A body without Content-Length (chunked, as gunicorn passes it on) used to be cut
    # silently at the limit and parsed as if it were whole.
    body = b'{"name": "' + b"x" * 2000 + b'"}'
    response = small_body_client.post(
        "/v1/agents",
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},
        headers={**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert message_of(response, 413) == (
        "request body is larger than the limit of 1000 bytes (OPSCORE_MAX_BODY_BYTES)"
    )
    assert core.agents.list().total == 0


def test_chunked_body_within_the_limit_is_read_whole(small_body_client):
    response = small_body_client.post(
        "/v1/agents",
        input_stream=io.BytesIO(b'{"id": "chunked"}'),
        environ_overrides={"wsgi.input_terminated": True},
        headers={**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 201
    assert response.json["id"] == "chunked"


def test_agent_id_longer_than_128_characters_is_422_naming_the_limit(client):
    response = client.post("/v1/agents", json={"id": "a" * 129}, headers=AUTH)
    assert message_of(response, 422) == "id: must be 1 to 128 characters"


def test_display_name_longer_than_200_characters_is_422_naming_the_limit(client):
    response = client.post("/v1/agents", json={"name": "n" * 201}, headers=AUTH)
    assert message_of(response, 422) == "name: must be at most 200 characters"


def test_display_name_with_a_control_character_is_422(client):
    response = client.post("/v1/agents", json={"name": "a\u0000b"}, headers=AUTH)
    assert message_of(response, 422) == (
        "name: must be printable text: no control characters or lone surrogates"
    )


def test_more_than_64_capabilities_is_422_naming_the_limit(client):
    capabilities = [f"c{i}" for i in range(65)]
    response = client.post("/v1/agents", json={"capabilities": capabilities}, headers=AUTH)
    assert message_of(response, 422) == "capabilities: must be at most 64 items"


def test_capability_longer_than_64_characters_is_422_naming_the_limit(client):
    response = client.post("/v1/agents", json={"capabilities": ["c" * 65]}, headers=AUTH)
    assert message_of(response, 422) == "capabilities.0: must be 1 to 64 characters"


def test_event_name_longer_than_64_characters_is_422_naming_the_limit(client, agent_id):
    response = client.post(f"/v1/agents/{agent_id}/events", json={"event": "e" * 65}, headers=AUTH)
    assert message_of(response, 422) == "event: must be 1 to 64 characters"


def test_metadata_over_64_kib_is_422_naming_its_size_the_limit_and_the_setting(client):
    response = client.post("/v1/agents", json={"metadata": {"blob": "x" * 70_000}}, headers=AUTH)
    assert message_of(response, 422) == (
        "metadata is 70011 bytes; the limit is 65536 (OPSCORE_MAX_JSON_BYTES)"
    )


def test_metadata_nested_deeper_than_10_levels_is_422_naming_the_limit(client):
    response = client.post("/v1/agents", json={"metadata": nested(11)}, headers=AUTH)
    assert message_of(response, 422) == "metadata is nested deeper than the limit of 10 levels"


def test_metadata_10_levels_deep_is_accepted(client):
    response = client.post("/v1/agents", json={"metadata": nested(10)}, headers=AUTH)
    assert response.status_code == 201


def test_event_data_over_64_kib_is_422_and_fires_nothing(client, agent_id):
    response = client.post(
        f"/v1/agents/{agent_id}/events",
        json={"event": "activate", "data": {"blob": "x" * 70_000}},
        headers=AUTH,
    )
    assert message_of(response, 422).startswith("data is 70011 bytes; the limit is 65536")
    assert client.get(f"/v1/agents/{agent_id}/history", headers=AUTH).json == []


def test_session_metadata_deeper_than_10_levels_is_422(client, agent_id):
    response = client.post(
        f"/v1/agents/{agent_id}/sessions", json={"metadata": nested(11)}, headers=AUTH
    )
    assert message_of(response, 422) == "metadata is nested deeper than the limit of 10 levels"


def test_json_size_limit_follows_the_setting(definitions, callbacks):
    core = OpsCore(definitions, MemoryStore(), callbacks, limits=Limits(json_bytes=100))
    client = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core).test_client()
    response = client.post("/v1/agents", json={"metadata": {"blob": "x" * 100}}, headers=AUTH)
    assert message_of(response, 422) == (
        "metadata is 111 bytes; the limit is 100 (OPSCORE_MAX_JSON_BYTES)"
    )


def test_max_json_bytes_setting_reaches_the_services(monkeypatch):
    monkeypatch.setenv("OPSCORE_MAX_JSON_BYTES", "2048")
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"})
    assert app.extensions["opscore"].lifecycle.limits.json_bytes == 2048


def test_run_input_over_64_kib_is_422_naming_the_limit(client):
    response = client.post(
        "/v1/workflows/review_document/runs",
        json={"input": {"document": "x" * 70_000}},
        headers=AUTH,
    )
    assert message_of(response, 422).startswith("input is 70015 bytes; the limit is 65536")
    assert client.get("/v1/runs", headers=AUTH).json == []


def test_step_output_over_64_kib_is_422_naming_the_limit(client):
    response = client.post(
        "/v1/runs/r1/steps/review/complete", json={"output": "x" * 70_000}, headers=AUTH
    )
    assert message_of(response, 422).startswith("output is 70002 bytes; the limit is 65536")


def test_step_output_nested_deeper_than_10_levels_is_422(client):
    response = client.post(
        "/v1/runs/r1/steps/review/complete", json={"output": [nested(10)]}, headers=AUTH
    )
    assert message_of(response, 422) == "output is nested deeper than the limit of 10 levels"


def test_reported_error_name_longer_than_100_characters_is_422_naming_the_limit(client):
    response = client.post("/v1/runs/r1/steps/review/fail", json={"error": "E" * 101}, headers=AUTH)
    assert message_of(response, 422) == "error: must be 1 to 100 characters"


def test_reported_error_message_longer_than_2000_characters_is_422_naming_the_limit(client):
    response = client.post(
        "/v1/runs/r1/steps/review/fail",
        json={"error": "Review.Refused", "message": "m" * 2001},
        headers=AUTH,
    )
    assert message_of(response, 422) == "message: must be at most 2000 characters"


@pytest.mark.parametrize(
    ("path", "parameter", "limit"),
    [
        ("/v1/agents/{}", "agent_id", 128),
        ("/v1/sessions/{}/history", "session_id", 128),
        ("/v1/runs/{}", "run_id", 128),
        ("/v1/machines/{}", "name", 64),
        ("/v1/workflows/{}/runs", "name", 64),
    ],
)
def test_path_parameter_past_its_limit_is_422_naming_the_limit(client, path, parameter, limit):
    method = client.post if path.endswith("/runs") else client.get
    response = method(path.format("a" * (limit + 1)), json={}, headers=AUTH)
    assert message_of(response, 422) == (
        f"{parameter} is {limit + 1} characters; the limit is {limit}"
    )


def test_step_name_in_the_path_past_64_characters_is_422_naming_the_limit(client):
    response = client.post(f"/v1/runs/r1/steps/{'s' * 65}/complete", json={}, headers=AUTH)
    assert message_of(response, 422) == "step is 65 characters; the limit is 64"


def test_path_id_within_the_limit_that_names_nothing_is_404(client):
    assert client.get(f"/v1/agents/{'a' * 128}", headers=AUTH).status_code == 404


def test_page_size_over_500_is_422_naming_the_limit(client):
    response = client.get("/v1/agents?page_size=501", headers=AUTH)
    assert message_of(response, 422) == "page_size: must be 1 to 500"


def test_idempotency_key_longer_than_255_characters_is_422_naming_the_limit(client):
    response = client.post("/v1/agents", json={}, headers={**AUTH, "Idempotency-Key": "k" * 256})
    assert message_of(response, 422) == "Idempotency-Key must be 1-255 visible ASCII characters"


def test_validate_file_name_longer_than_200_characters_is_422_naming_the_limit(client):
    response = client.post(
        f"/v1/machines/validate?file={'f' * 201}",
        data="kind: agent\n",
        headers={**AUTH, "Content-Type": "application/yaml"},
    )
    assert message_of(response, 422) == "file: must be 1 to 200 characters"


@pytest.fixture
def sqlite_client(definitions, callbacks, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'opscore.db'}", SystemClock())
    core = OpsCore(definitions, store, callbacks)
    core.agents.register(agent_id="a1")
    yield create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core).test_client()
    close_store(store)


def test_page_past_a_million_is_422_not_a_sql_overflow(sqlite_client):
    # SQLite cannot bind an offset past 64 bits: this used to be a 500.
    response = sqlite_client.get(f"/v1/agents?page={10**20}", headers=AUTH)
    assert message_of(response, 422) == "page: must be 1 to 1000000"


def test_since_seq_past_64_bits_is_422_not_a_sql_overflow(sqlite_client):
    # SQLite cannot bind an integer past 64 bits: this used to be a 500.
    response = sqlite_client.get(f"/v1/agents/a1/history?since_seq={2**63}", headers=AUTH)
    assert message_of(response, 422) == f"since_seq: must be 0 to {2**63 - 1}"


def test_openapi_states_the_length_limits_of_strings_lists_and_pages(client):
    spec = client.get("/openapi.json").json
    schemas = spec["components"]["schemas"]
    agent = schemas["AgentCreate"]["properties"]
    assert (agent["id"]["maxLength"], agent["name"]["maxLength"]) == (128, 200)
    assert agent["capabilities"]["maxItems"] == 64
    assert agent["capabilities"]["items"]["maxLength"] == 64
    assert "65536" in agent["metadata"]["description"]
    assert schemas["Event"]["properties"]["event"]["maxLength"] == 64
    step_fail = schemas["StepFail"]["properties"]
    assert (step_fail["error"]["maxLength"], step_fail["message"]["maxLength"]) == (100, 2000)
    listing = {p["name"]: p["schema"] for p in spec["paths"]["/v1/agents"]["get"]["parameters"]}
    assert listing["page_size"]["maximum"] == 500
    report = spec["paths"]["/v1/runs/{run_id}/steps/{step}/complete"]["parameters"]
    # a step inside branches is a path of names (each at most 64): `fan_out/research/search`
    assert {p["name"]: p["schema"]["maxLength"] for p in report} == {"run_id": 128, "step": 512}
