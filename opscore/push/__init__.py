"""Agents reached from outside: tasks pushed to agents' endpoints (signed, retried, only to
allowed hosts) and AgentKit's registration webhook."""

from .agentkit import AgentKitWebhook
from .outbound import Outbound, OutboundPolicy, Refused
from .service import PushService

__all__ = ["AgentKitWebhook", "Outbound", "OutboundPolicy", "PushService", "Refused"]
