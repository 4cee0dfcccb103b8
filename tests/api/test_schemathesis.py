"""Schemathesis drives every operation in-process with a valid key: no 5xx, nothing off-spec."""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from opscore.api.security import FailureBrake

from ..conftest import API_KEY

EXAMPLES = int(os.environ.get("OPSCORE_SCHEMATHESIS_EXAMPLES", "25"))


@schemathesis.auth()
class ApiKey:
    """Authenticate every generated request with the test key (the contract, not the data)."""

    def get(self, case, context):
        return API_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "X-API-Key": data}


@pytest.fixture
def api_schema(app):
    # Schemathesis sends bad credentials on purpose, many times: do not brake it with 429s.
    app.extensions["opscore.brake"] = FailureBrake(limit=10**9)
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


# The live stream never ends by itself; tests/api/test_event_stream.py covers it.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/v1/events/stream")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_conforms_to_its_openapi_description(case):
    if case.headers and "Idempotency-Key" in case.headers:
        # Generated keys repeat across examples with different bodies, which is a
        # deliberate 422 (tested in test_idempotency); give each example its own key.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate()
