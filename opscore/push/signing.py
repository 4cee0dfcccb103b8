"""HMAC-SHA256 signatures over `timestamp + "." + body`: what Ops-Core puts on the tasks it
pushes, and what it checks on the webhooks it receives."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: the HMAC-SHA256, keyed by `secret`, of `timestamp.body`."""
    message = timestamp.encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` (with or without the `sha256=` prefix) signs `timestamp.body`."""
    given = signature if signature.startswith(PREFIX) else PREFIX + signature
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode())
