"""AgentKit's registration webhook: REGISTER and DEREGISTER events register and remove
agents. A request counts only when its `X-AgentKit-Signature` (HMAC-SHA256 of
`timestamp + "." + body`, keyed by OPSCORE_AGENTKIT_SECRET) is right, its
`X-AgentKit-Timestamp` is within the window, and that signature was never accepted before."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..clock import Clock
from ..errors import SignatureRefused
from ..model import Instance
from ..services.agents import AgentService
from ..store.push import PushBook
from .service import PushService
from .signing import verify

WINDOW = 300.0  # seconds a signed request's timestamp may be from the service's clock


class AgentKitEventType(StrEnum):
    """What an AgentKit webhook asks."""

    REGISTER = "REGISTER"
    DEREGISTER = "DEREGISTER"


@dataclass(frozen=True)
class AgentKitEvent:
    """One AgentKit webhook, its signature checked and its body read."""

    type: AgentKitEventType
    agent_id: str
    name: str | None = None
    capabilities: Sequence[str] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    endpoint: str | None = None


class AgentKitWebhook:
    """Checks AgentKit's signed webhooks and carries out their registrations."""

    def __init__(
        self,
        secret: str,
        agents: AgentService,
        push: PushService,
        book: PushBook,
        clock: Clock,
        window: float = WINDOW,
    ) -> None:
        self._secret = secret
        self.agents = agents
        self.push = push
        self.book = book
        self.clock = clock
        self.window = window

    def authenticate(self, body: bytes, timestamp: str | None, signature: str | None) -> None:
        """SignatureRefused unless `signature` signs `timestamp.body` and `timestamp` (Unix
        seconds) is within the window."""
        if not self._secret:
            raise SignatureRefused("AgentKit webhooks are off: OPSCORE_AGENTKIT_SECRET is unset")
        if not timestamp or not signature:
            raise SignatureRefused("X-AgentKit-Timestamp and X-AgentKit-Signature are required")
        try:
            sent = int(timestamp)
        except ValueError:
            raise SignatureRefused("X-AgentKit-Timestamp must be Unix seconds") from None
        if abs(self.clock.now() - sent) > self.window:
            raise SignatureRefused(
                f"X-AgentKit-Timestamp is more than {self.window:g} s from the service's clock"
            )
        if not verify(self._secret, timestamp, body, signature):
            raise SignatureRefused("X-AgentKit-Signature does not sign this body")

    def apply(self, event: AgentKitEvent, signature: str) -> tuple[Instance | None, str | None]:
        """Carry out an authenticated event once: a signature seen before is a replay
        (SignatureRefused, nothing changes). REGISTER answers (agent, push secret or None);
        DEREGISTER (None, None)."""
        if event.endpoint is not None:
            self.push.check_endpoint(event.endpoint)  # a 422 that leaves the request unseen
        key = hashlib.sha256(signature.encode()).hexdigest()
        if not self.book.receive_once(key, self.clock.now(), 2 * self.window):
            raise SignatureRefused("this AgentKit webhook was received before (a replay)")
        if event.type == AgentKitEventType.DEREGISTER:
            self.agents.deregister(event.agent_id)
            self.push.forget(event.agent_id)
            return None, None

        def register(secret: str | None) -> Instance:
            return self.agents.register(
                agent_id=event.agent_id,
                name=event.name,
                capabilities=event.capabilities,
                metadata=event.metadata,
            )

        return self.push.register(event.endpoint, register)
