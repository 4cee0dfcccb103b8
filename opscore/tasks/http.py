"""The `http` task: call an external system; non-2xx answers are errors retriers can match.

Errors: `Http.ClientError` (4xx), `Http.ServerError` (5xx), `Http.Timeout` (no answer, or
a body still arriving, when the timeout is up), `Http.ConnectionError` (refused, reset,
hung up, DNS), `Http.InvalidResponse` (a JSON answer that does not parse, a broken
response), `Http.ResponseTooLarge`, `Task.InvalidParameters`.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..definitions.workflow.durations import parse_duration
from . import TaskContext, TaskError

DEFAULT_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) URLs."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise TaskError("Http.InvalidResponse", f"refused redirect to {newurl!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SafeRedirects())


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _request(ctx: TaskContext) -> tuple[urllib.request.Request, float]:
    params = ctx.params
    url = params.get("url")
    if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise TaskError("Task.InvalidParameters", "url must be an http:// or https:// URL")
    method = str(params.get("method", "GET")).upper()
    if method not in METHODS:
        raise TaskError("Task.InvalidParameters", f"method must be one of {', '.join(METHODS)}")
    headers = params.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise TaskError("Task.InvalidParameters", "headers must map names to strings")
    body = None
    if "json" in params:
        body = json.dumps(params["json"]).encode()
        headers = {"Content-Type": "application/json", **headers}
    try:
        timeout = parse_duration(params["timeout"]) if "timeout" in params else DEFAULT_TIMEOUT
    except ValueError as error:
        raise TaskError("Task.InvalidParameters", str(error)) from None
    if ctx.time_left is not None:
        timeout = max(0.001, min(timeout, ctx.time_left))
    # Only http(s) reaches here (checked above), so urlopen cannot be steered to file: URLs.
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    return request, timeout


def _read(response: Any, deadline: float, timeout: float) -> bytes:
    """The body, read as it arrives, until the deadline (a trickling body cannot outlast it)."""
    data = bytearray()
    while chunk := response.read1(64 * 1024):
        data += chunk
        if len(data) > MAX_RESPONSE_BYTES:
            raise TaskError(
                "Http.ResponseTooLarge", f"response is larger than {MAX_RESPONSE_BYTES} bytes"
            )
        if time.monotonic() > deadline:
            raise TaskError("Http.Timeout", f"the response took more than {timeout:g} s")
    return bytes(data)


def _body(data: bytes, content_type: str) -> Any:
    if "json" in content_type:
        try:
            return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise TaskError(
                "Http.InvalidResponse", f"invalid JSON in the response: {error}"
            ) from None
    return data.decode("utf-8", errors="replace")


def http_task(ctx: TaskContext) -> Any:
    """Send the request; the output is `{status, content_type, body}`."""
    request, timeout = _request(ctx)
    deadline = time.monotonic() + timeout
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            data, status = _read(response, deadline, timeout), response.status
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        kind = "Http.ServerError" if error.code >= 500 else "Http.ClientError"
        error.close()
        raise TaskError(
            kind, f"{request.method} {request.full_url} answered {error.code}"
        ) from None
    except TimeoutError:
        raise TaskError("Http.Timeout", f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise TaskError("Http.Timeout", f"no answer within {timeout:g} s") from None
        raise TaskError("Http.ConnectionError", str(error.reason)) from None
    except (ConnectionError, http.client.RemoteDisconnected) as error:
        raise TaskError("Http.ConnectionError", f"{type(error).__name__}: {error}") from None
    except http.client.HTTPException as error:
        raise TaskError("Http.InvalidResponse", f"{type(error).__name__}: {error}") from None
    except OSError as error:  # any other socket or TLS failure while reading
        raise TaskError("Http.ConnectionError", f"{type(error).__name__}: {error}") from None
    return {"status": status, "content_type": content_type, "body": _body(data, content_type)}
