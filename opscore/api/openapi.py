"""What the OpenAPI document says of every operation alike: the answers authentication,
scopes, the failure brake, body checks and a busy store can give; each schema's description;
an example of each request body.

The answers follow opscore/api/security.py and app.py: every operation that needs a key can
be a 401 and, once a client has failed too often, a 429; a write needs more than the `read`
scope (403), may be sent a body too large (413) or of a type it does not read (415), and
commits to the store, which may stay locked (503).
"""

from __future__ import annotations

import inspect
from typing import Any

from apispec import BasePlugin

READS = frozenset({"get", "head", "options"})
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
ANSWERS = {
    401: "No valid API key (`X-API-Key`, or `Authorization: Bearer`).",
    403: "The key's scope does not allow this (`read` keys may only read; deletes and "
    "reloads need `admin`).",
    413: "The request body is larger than `OPSCORE_MAX_BODY_BYTES`.",
    415: "The request body is of a type this operation does not read (it reads JSON).",
    429: "Too many failed authentications from this client, or (starting a run) the "
    "queue is full; wait `Retry-After` seconds.",
    503: "The store stayed locked by other writers (or every live-stream slot is taken); "
    "nothing changed; retry after `Retry-After` seconds.",
}
# Schemas that are not ours, so have no docstring of ours.
FOREIGN_DESCRIPTIONS = {
    "Error": "Every error answer: `{code, status, message, errors?}`; a 422's `errors` "
    "names each field and what is wrong with it.",
    "PaginationMetadata": "The `X-Pagination` header of a list: `total`, `total_pages`, "
    "`first_page`, `last_page`, `page`, `previous_page`, `next_page`.",
}


LEASE = "3f1c0b2e9a7d4c58b6e1f0a2d4c6e8b0"
DOOR = {
    "kind": "agent",
    "name": "door",
    "version": 1,
    "initial": "closed",
    "states": [{"name": "closed"}, {"name": "open"}],
    "transitions": [
        {"trigger": "open", "source": "closed", "dest": "open"},
        {"trigger": "close", "source": "open", "dest": "closed"},
    ],
}
DOOR_YAML = """kind: agent
name: door
version: 1
initial: closed
states:
  - name: closed
  - name: open
transitions:
  - {trigger: open, source: closed, dest: open}
  - {trigger: close, source: open, dest: closed}
"""
# One example body per operation that takes one, valid as written (a test sends each).
EXAMPLES: dict[tuple[str, str], Any] = {
    ("/v1/agents", "post"): {
        "id": "writer-1",
        "name": "Report writer",
        "machine": "agent",
        "capabilities": ["summarize"],
        "metadata": {"team": "ops"},
    },
    ("/v1/agents/{agent_id}/events", "post"): {
        "event": "activate",
        "data": {"task": "weekly report"},
    },
    ("/v1/agents/{agent_id}/sessions", "post"): {
        "machine": "session",
        "metadata": {"topic": "Q3 plan"},
    },
    ("/v1/sessions/{session_id}/events", "post"): {"event": "start", "data": {"input": "Q3"}},
    ("/v1/machines/validate", "post"): DOOR,
    ("/v1/machines/{name}", "put"): DOOR,
    ("/v1/agents/{agent_id}/upgrade", "post"): {"version": 2, "states": {"idle": "ready"}},
    ("/v1/workflows/{name}/runs", "post"): {
        "input": {"document": "Q3 plan"},
        "agent_id": "writer-1",
    },
    ("/v1/runs/{run_id}/upgrade", "post"): {"version": 2, "states": {"publish": "ship"}},
    ("/v1/runs/{run_id}/steps/{step}/complete", "post"): {"output": {"approved": True}},
    ("/v1/runs/{run_id}/steps/{step}/fail", "post"): {
        "error": "Agent.Refused",
        "message": "the document is empty",
    },
    ("/v1/tasks/claim", "post"): {"agent_id": "writer-1", "wait": 1},
    ("/v1/integrations/agentkit/events", "post"): {
        "type": "REGISTER",
        "agent": {"id": "kit-agent-1", "name": "From AgentKit", "capabilities": ["summarize"]},
    },
    ("/v1/tasks/{task_id}/heartbeat", "post"): {"lease_token": LEASE},
    ("/v1/tasks/{task_id}/complete", "post"): {
        "lease_token": LEASE,
        "output": {"summary": "all good"},
    },
    ("/v1/tasks/{task_id}/fail", "post"): {
        "lease_token": LEASE,
        "error": "Agent.Refused",
        "message": "cannot summarize an empty document",
    },
}


def _add_example(body: dict | None, example: Any) -> None:
    """Put `example` on the body's JSON content (its YAML twin on YAML content), unless the
    content has one already."""
    if body is None or example is None:
        return
    for media_type, content in body.get("content", {}).items():
        if "example" in content or "examples" in content:
            continue
        if media_type == "application/json":
            content["example"] = example
        elif "yaml" in media_type and example is DOOR:
            content["example"] = DOOR_YAML


def _own_docstring(schema: Any) -> str | None:
    """The schema class's own docstring (not one it inherits), first paragraph, one line."""
    cls = schema if isinstance(schema, type) else type(schema)
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return None
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


class SharedAnswers(BasePlugin):
    """An apispec plugin: shared answers on each operation, descriptions on each schema."""

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        """A schema's description: its class docstring, unless it has one already."""
        if definition.get("description"):
            return None
        described = FOREIGN_DESCRIPTIONS.get(name) or _own_docstring(kwargs.get("schema"))
        return {"description": described} if described else None

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        """Declare 401 and 429 on each operation that needs a key; 403, 413, 415 and 503 on
        its writes."""
        for method, operation in (operations or {}).items():
            if operation.get("security") == []:
                continue  # public: no key, no brake
            _add_example(operation.get("requestBody"), EXAMPLES.get((path or "", method)))
            codes = [401, 429] + ([] if method in READS else [403, 413, 415, 503])
            responses = operation.setdefault("responses", {})
            declared = {str(code) for code in responses}
            for code in codes:
                if str(code) not in declared:
                    responses[str(code)] = _answer(code)


def _answer(code: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": ANSWERS[code], "content": ERROR_CONTENT}
    if code in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer
