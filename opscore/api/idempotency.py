"""`Idempotency-Key` on state-changing POSTs: the first answer is kept and replayed.

The kept answer is written by the store in the same atomic step as the change it
describes, so a retry never fires a second transition. A key is scoped to the API key,
method and path that used it; the same key with a different body is a 422.

A copy sent while the first is still in flight is answered as the first was: whatever
refused the copy (the state the first moved, the id it took, the key it committed) is
looked past once the first's answer is found in the store, in this process or another.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from ..errors import IdempotencyKeyReused, InvalidRequest, OpsCoreError
from ..model import IdempotencyRecord
from ..services.idempotency import IdempotentRequest, Render
from .http import current_request, json_response, request_globals

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _scoped_key(key: str) -> str:
    scope = f"{g.api_key_id}\n{request.method}\n{request.path}\n{key}"
    return hashlib.sha256(scope.encode()).hexdigest()


def _fingerprint() -> str:
    content = request.query_string + b"\n" + request.get_data(cache=True)
    return hashlib.sha256(content).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    headers = {**record.headers, REPLAYED_HEADER: "true"}
    return json_response(record.body, record.status, headers)


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: replay the kept answer for a known key; otherwise let the view run once."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = current_request().headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.match(key):
            raise InvalidRequest(f"{HEADER} must be 1-255 visible ASCII characters", HEADER)
        store = current_app.extensions["opscore"].store
        scoped, fingerprint = _scoped_key(key), _fingerprint()
        kept = store.get_idempotency(scoped)
        if kept is not None:
            return _replay(kept, fingerprint)
        g.idempotency = (scoped, fingerprint)
        try:
            return view(*args, **kwargs)
        except OpsCoreError:
            # A concurrent copy committed first (so this one lost the key, or found the state
            # or id it changed): answer as it did. A refusal with no kept answer stands.
            kept = store.get_idempotency(scoped)
            if kept is None:
                raise
            return _replay(kept, fingerprint)
        finally:
            g.pop("idempotency", None)

    return wrapper


def idempotency_for(render: Render) -> IdempotentRequest | None:
    """The idempotent request the current view should hand its service, if a key was sent."""
    pending = request_globals().get("idempotency")
    if pending is None:
        return None
    scoped, fingerprint = pending
    return IdempotentRequest(scoped, fingerprint, render)
