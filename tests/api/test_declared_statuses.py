"""The OpenAPI document says what the service answers: every operation and schema described,
every request body with an example the service accepts, and every status an operation
gives (401 without a key, 403 past its scope, 429 from the brake, 503 from a busy store)
declared on it."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from opscore.api import create_app
from opscore.core import OpsCore
from opscore.errors import StoreBusy
from opscore.store import MemoryStore
from tests.api.test_schemathesis import fresh_idempotency_key
from tests.support.brake import NEVER, brake_at
from tests.support.constants import API_KEY

READ_KEY = "read-only-key"
KEYS = f"{API_KEY},read:{READ_KEY}"
READS = ("get", "head")
STREAM = "/v1/events/stream"
EXAMPLES = 5


class BusyStore(MemoryStore):
    """A store whose writer never gets the database: every write is a StoreBusy."""

    def insert(self, *args, **kwargs):
        raise StoreBusy(30)

    def commit(self, *args, **kwargs):
        raise StoreBusy(30)

    def delete(self, *args, **kwargs):
        raise StoreBusy(30)


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").json


def operations(spec):
    """(path, method, operation) for every operation of the document."""
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def concrete(path: str, name: str = "nosuch") -> str:
    """The path with each `{parameter}` filled with an id no store holds (a version with
    one no definition has); `{name}` with `name` (a body that names itself is PUT there)."""
    path = path.replace("{version}", "99").replace("{name}", name)
    return re.sub(r"\{[^}]+\}", "nosuch", path)


def call(client, path, method, operation, headers):
    """Call the operation as its example says (its example body, if it takes one)."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    example = body.get("example")
    kwargs = {"json": example} if example is not None else {}
    name = example.get("name") if isinstance(example, dict) and method == "put" else None
    target = concrete(path, name or "nosuch")
    return client.open(target, method=method.upper(), headers=headers, **kwargs)


def test_every_operation_has_a_summary_and_a_description(spec):
    undescribed = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(spec)
        if not operation.get("summary") or not operation.get("description")
    ]
    assert undescribed == []


def test_every_schema_has_a_description(spec):
    schemas = spec["components"]["schemas"]
    assert [name for name, schema in schemas.items() if not schema.get("description")] == []


def test_every_request_body_has_an_example(spec):
    missing = [
        f"{method.upper()} {path} {media_type}"
        for path, method, operation in operations(spec)
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items()
        if "example" not in content and "examples" not in content
    ]
    assert missing == []


def test_every_example_body_is_one_the_service_accepts(client, spec):
    auth = {"X-API-Key": API_KEY}
    for path, method, operation in operations(spec):
        if "requestBody" not in operation:
            continue
        response = call(client, path, method, operation, auth)
        # The ids in the path name nothing: 404s and 409s, but never a refused body.
        assert response.status_code not in (400, 413, 415, 422), (path, response.json)


def declared(operation) -> set[str]:
    return set(operation["responses"])


def test_every_operation_that_needs_a_key_declares_and_answers_401_without_one(app, spec):
    brake_at(app, NEVER)  # 401s, not the brake's 429s
    client = app.test_client()
    for path, method, operation in operations(spec):
        if operation.get("security") == []:
            continue
        assert call(client, path, method, operation, {}).status_code == 401, path
        assert "401" in declared(operation), f"{method} {path}"


def test_every_write_declares_and_answers_403_to_a_read_key(core, spec):
    app = create_app({"api_keys": KEYS, "log_level": "WARNING"}, core=core)
    client = app.test_client()
    writes = [op for op in operations(spec) if op[1] not in READS and op[2].get("security") != []]
    assert writes
    for path, method, operation in writes:
        response = call(client, path, method, operation, {"X-API-Key": READ_KEY})
        assert response.status_code == 403, path
        assert "403" in declared(operation), f"{method} {path}"


def test_every_operation_that_needs_a_key_declares_and_answers_429_once_braked(app, spec):
    brake_at(app, 1).refusal("127.0.0.1")
    client = app.test_client()
    for path, method, operation in operations(spec):
        if operation.get("security") == []:
            continue
        response = call(client, path, method, operation, {"X-API-Key": "wrong"})
        assert response.status_code == 429, path
        assert "429" in declared(operation), f"{method} {path}"


@pytest.fixture(params=["free", "busy"])
def store_schema(request, definitions, callbacks):
    """The API over an ordinary store, or over one whose every write is a StoreBusy."""
    store = BusyStore() if request.param == "busy" else MemoryStore()
    app = create_app(
        {"api_keys": API_KEY, "log_level": "WARNING"},
        core=OpsCore(definitions, store, callbacks),
    )
    brake_at(app, NEVER)
    return schemathesis.openapi.from_wsgi(
        "/openapi.json", app, config=SchemathesisConfig.from_dict({})
    )


# The test key goes on every generated request: test_schemathesis's auth, registered on import.
generated = schemathesis.pytest.from_fixture("store_schema").exclude(path=STREAM)


@generated.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_status_schemathesis_sees_is_declared_on_its_operation(case):
    """Explicitly: each operation also has a `default` answer, which would hide any status."""
    fresh_idempotency_key(case)
    if isinstance(case.body, dict) and "wait" in case.body:
        case.body["wait"] = 0  # a claim would wait that long for a task that never comes
    response = case.call()
    if case.method.lower() != case.operation.method.lower():
        return  # a method the path does not serve (405): no operation of the document
    declared = set(case.operation.definition.raw["responses"]) - {"default"}
    where = f"{case.method} {case.path}"
    assert str(response.status_code) in declared, f"{where} answered {response.status_code}"
