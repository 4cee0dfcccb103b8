"""OpenTelemetry traces: off unless the standard `OTEL_*` variables ask for them.

`configure_tracing()` switches them on when `OTEL_TRACES_EXPORTER` names `otlp` (or
`console`), or an `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` is set, and `OTEL_SDK_DISABLED`
is not `true`; the exporter reads its own `OTEL_EXPORTER_OTLP_*` settings. It needs the
`otel` extra (`pip install 'opscore[otel]'`); without it, asking for traces is a
ConfigError. When traces are off, `span()` is a shared no-op and nothing is imported.

A run's spans share one trace whose id is derived from the run id, so the spans that
different processes record for one run (its steps' attempts, then the run itself, when
it ends) land in one trace without passing anything between them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from . import logs
from .config import ConfigError

SERVICE_NAME = "opscore"
TRACE_EXPORTERS = ("otlp", "console")
_NO_SPAN = contextlib.nullcontext()

# The trace and span id the next span must take (a run's own span), else random ones.
_forced_ids: ContextVar[tuple[int, int] | None] = ContextVar("opscore_forced_ids", default=None)
_tracer: Any = None  # an opentelemetry Tracer while traces are on
_provider: Any = None


def wanted(env: Mapping[str, str]) -> bool:
    """Whether the `OTEL_*` variables in `env` ask for traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")}
    if exporters & set(TRACE_EXPORTERS):
        return True
    if "none" in exporters:
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def wanted_by_environment() -> bool:
    """Whether this process's `OTEL_*` variables ask for traces."""
    return wanted(os.environ)


def enabled() -> bool:
    """Whether spans are being recorded."""
    return _tracer is not None


def configure_tracing(env: Mapping[str, str] | None = None, exporter: Any = None) -> bool:
    """Switch traces on as `env` (default: os.environ) asks, or with `exporter` given.

    `exporter` (a SpanExporter, such as the SDK's InMemorySpanExporter) is exported to
    synchronously; the exporters the variables name are batched. Returns whether traces
    are on. Calling it again replaces the earlier configuration.
    """
    env = os.environ if env is None else env
    if exporter is None and not wanted(env):
        disable_tracing()
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        raise ConfigError(
            "OTEL_* variables ask for traces, but OpenTelemetry is not installed: "
            "pip install 'opscore[otel]'"
        ) from None
    global _tracer, _provider
    disable_tracing()
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    provider = TracerProvider(resource=resource, id_generator=_id_generator())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        for named in _exporters(env):
            provider.add_span_processor(BatchSpanProcessor(named))
    _provider, _tracer = provider, provider.get_tracer("opscore")
    logs.set_context_fields(_log_fields)
    return True


def disable_tracing() -> None:
    """Switch traces off, flushing what was recorded."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None
    logs.set_context_fields(None)


def _exporters(env: Mapping[str, str]) -> list[Any]:
    names = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")}
    found: list[Any] = []
    if "console" in names:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        found.append(ConsoleSpanExporter())
    if "otlp" in names or not found:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        found.append(OTLPSpanExporter())
    return found


def _id_generator() -> Any:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class RunIds(RandomIdGenerator):
        """Random ids, except for a span that must take the ids `_forced_ids` holds."""

        def generate_trace_id(self) -> int:
            forced = _forced_ids.get()
            return forced[0] if forced else super().generate_trace_id()

        def generate_span_id(self) -> int:
            forced = _forced_ids.get()
            return forced[1] if forced else super().generate_span_id()

    return RunIds()


def _log_fields() -> dict[str, str]:
    """`trace_id` and `span_id` of the current span, for the JSON log lines."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def span(name: str, attributes: Mapping[str, Any] | None = None, kind: str = "internal") -> Any:
    """A context manager: the current span of `name` while it lasts (a no-op when off)."""
    if _tracer is None:
        return _NO_SPAN
    from opentelemetry.trace import SpanKind

    return _tracer.start_as_current_span(
        name, kind=SpanKind[kind.upper()], attributes=_clean(attributes)
    )


def server_span(
    name: str, headers: Mapping[str, str], attributes: Mapping[str, Any]
) -> tuple[Any, Any] | None:
    """Start the span of one HTTP request, continuing a `traceparent` the client sent.

    Returns a handle for `end_server_span`, or None when traces are off.
    """
    if _tracer is None:
        return None
    from opentelemetry import context, propagate, trace
    from opentelemetry.trace import SpanKind

    parent = propagate.extract({name.lower(): value for name, value in headers.items()})
    started = _tracer.start_span(
        name, context=parent, kind=SpanKind.SERVER, attributes=_clean(attributes)
    )
    token = context.attach(trace.set_span_in_context(started))
    return started, token


def end_server_span(handle: Any, status: int | None, attributes: Mapping[str, Any]) -> None:
    """End a span `server_span` started, with the answer's status."""
    if handle is None:
        return
    from opentelemetry import context
    from opentelemetry.trace import Status, StatusCode

    started, token = handle
    started.set_attributes(_clean(attributes))
    if status is not None:
        started.set_attribute("http.response.status_code", status)
        if status >= 500:
            started.set_status(Status(StatusCode.ERROR))
    started.end()
    context.detach(token)


def trace_ids_of_run(run_id: str) -> tuple[int, int]:
    """The trace id of a run's spans and the span id of the run's own span."""
    digest = hashlib.sha256(run_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def record_span(
    name: str,
    start: float,
    end: float,
    attributes: Mapping[str, Any],
    *,
    run_id: str,
    error: str | None = None,
    as_run: bool = False,
) -> None:
    """Record a finished span of a run: the run's own (`as_run`), or a child of it.

    `start` and `end` are epoch seconds (from the injected clock); `error` names the
    error it ended with, if any.
    """
    if _tracer is None:
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

    trace_id, run_span_id = trace_ids_of_run(run_id)
    if as_run:
        parent = otel_context.Context()
        token = _forced_ids.set((trace_id, run_span_id))
    else:
        run_span = SpanContext(trace_id, run_span_id, True, TraceFlags(TraceFlags.SAMPLED))
        parent = trace.set_span_in_context(NonRecordingSpan(run_span))
        token = None
    try:
        recorded = _tracer.start_span(
            name, context=parent, attributes=_clean(attributes), start_time=_ns(start)
        )
    finally:
        if token is not None:
            _forced_ids.reset(token)
    if error:
        recorded.set_attribute("error.type", error)
        recorded.set_status(Status(StatusCode.ERROR, error))
    recorded.end(end_time=_ns(max(end, start)))


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _clean(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Attributes without the unset ones (OpenTelemetry refuses None)."""
    return {k: v for k, v in (attributes or {}).items() if v is not None}
