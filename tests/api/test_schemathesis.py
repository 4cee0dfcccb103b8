"""Schemathesis drives every operation in-process with a valid key: no 5xx, nothing off-spec.

The stateless test tries each operation alone; the stateful one follows the OpenAPI
links from the create operations (register an agent, open a session, start a run) to
the operations on what they created, in generated sequences.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig

from opscore.api import create_app
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from opscore.store import MemoryStore
from tests.support.brake import NEVER, brake_at
from tests.support.constants import API_KEY, MACHINES, TEST_MACHINES

EXAMPLES = int(os.environ.get("OPSCORE_SCHEMATHESIS_EXAMPLES", "25"))
SCENARIOS = int(os.environ.get("OPSCORE_SCHEMATHESIS_SCENARIOS", str(EXAMPLES)))
# The live stream never ends by itself; tests/api/test_event_stream.py covers it.
STREAM = "/v1/events/stream"
# Schema-valid requests the schema cannot judge are refused by contract (docs/api.md):
# 412 for a stale If-Match, 422 for an unknown event, input failing a workflow's own
# JSON Schema, a document over OPSCORE_MAX_JSON_BYTES or a reused Idempotency-Key.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "404", "409", "412", "422", "429"]
            }
        }
    }
)


@schemathesis.auth()
class ApiKey:
    """Authenticate every generated request with the test key (the contract, not the data)."""

    def get(self, case, context):
        return API_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "X-API-Key": data}


def fresh_idempotency_key(case) -> None:
    """Give each request its own key.

    Generated keys repeat across requests with different bodies, which is a deliberate
    422 (tested in test_idempotency), not what these tests are after.
    """
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


@pytest.fixture
def api_schema(app):
    # Schemathesis sends bad credentials on purpose, many times: do not brake it with 429s.
    brake_at(app, NEVER)
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path=STREAM)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_conforms_to_its_openapi_description(case):
    fresh_idempotency_key(case)
    case.call_and_validate()


def test_create_operations_link_to_the_reads_of_what_they_created(client):
    spec = client.get("/openapi.json").json["paths"]
    linked = {
        (path, method): sorted(
            link["operationRef"]
            for link in operation["responses"][status].get("links", {}).values()
        )
        for path, method, status in [
            ("/v1/agents", "post", "201"),
            ("/v1/agents/{agent_id}/sessions", "post", "201"),
            ("/v1/workflows/{name}/runs", "post", "202"),
        ]
        for operation in [spec[path][method]]
    }
    assert linked == {
        ("/v1/agents", "post"): [
            "#/paths/~1v1~1agents~1{agent_id}/get",
            "#/paths/~1v1~1agents~1{agent_id}~1events/post",
            "#/paths/~1v1~1agents~1{agent_id}~1history/get",
            "#/paths/~1v1~1agents~1{agent_id}~1sessions/post",
        ],
        ("/v1/agents/{agent_id}/sessions", "post"): [
            "#/paths/~1v1~1sessions~1{session_id}/get",
            "#/paths/~1v1~1sessions~1{session_id}~1events/post",
            "#/paths/~1v1~1sessions~1{session_id}~1history/get",
        ],
        ("/v1/workflows/{name}/runs", "post"): [
            "#/paths/~1v1~1runs~1{run_id}/get",
            "#/paths/~1v1~1runs~1{run_id}~1cancel/post",
            "#/paths/~1v1~1runs~1{run_id}~1history/get",
        ],
    }


@pytest.fixture
def linked_definitions(callbacks):
    """Agents, sessions, and one workflow that takes any input, so generated runs start."""
    definitions = DefinitionRegistry()
    definitions.load(
        [MACHINES / "agent.yaml", MACHINES / "session.yaml", TEST_MACHINES / "stateful"],
        callbacks,
    )
    return definitions


def test_sequences_of_linked_operations_conform_to_the_openapi_description(
    linked_definitions, callbacks
):
    def fresh_core() -> OpsCore:
        return OpsCore(linked_definitions, MemoryStore(history_cap=50), callbacks)

    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=fresh_core())
    brake_at(app, NEVER)  # as in api_schema
    api = schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG).exclude(path=STREAM)

    class LinkedCalls(api.as_state_machine()):
        def setup(self):
            # Each scenario starts from an empty store, so a replayed scenario sees the
            # same answers (Hypothesis requires it).
            app.extensions["opscore"] = fresh_core()

        def before_call(self, case):
            fresh_idempotency_key(case)

    LinkedCalls.run(
        settings=settings(
            max_examples=SCENARIOS,
            deadline=None,
            phases=[Phase.generate],
            stateful_step_count=6,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
