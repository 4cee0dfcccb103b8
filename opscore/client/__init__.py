"""A Python client of the Ops-Core REST API (standard library only); see docs/client.md."""

from .client import OpsCoreClient
from .errors import (
    ApiError,
    Conflict,
    EventNotAllowed,
    Forbidden,
    NotFound,
    OpsCoreClientError,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from .resources import iterate
from .results import Page, Resource
from .sse import ServerSentEvent, SseDecoder
from .stream import Dropped, EventStream, Gap, Reconnecting, Transition

__all__ = [
    "ApiError",
    "Conflict",
    "Dropped",
    "EventNotAllowed",
    "EventStream",
    "Forbidden",
    "Gap",
    "NotFound",
    "OpsCoreClient",
    "OpsCoreClientError",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "Reconnecting",
    "Resource",
    "ServerError",
    "ServerSentEvent",
    "SseDecoder",
    "Transition",
    "TransportError",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "iterate",
]
