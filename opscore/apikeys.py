"""API keys with scopes, configured as digests (or plain keys), compared in constant time.

`OPSCORE_API_KEYS` holds comma-separated entries `[scope:]sha256:<hex>` or
`[scope:]<plain key>`; the scope is `read` (GET only), `write` (also the POSTs that change
state) or `admin` (also definition reloads and deletes), `admin` when left out.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from .config import ConfigError, Settings

API_KEY_HEADER = "X-API-Key"
DEV_API_KEY = "opscore-dev-key"
SCOPES = ("read", "write", "admin")  # each scope allows everything the earlier ones do
DEFAULT_SCOPE = "admin"  # of a key entry without one, and of `opscore keys new`
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


def digest(key: str) -> str:
    """The hex SHA-256 of a key, as stored in `OPSCORE_API_KEYS` (`sha256:<hex>`)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(scope: str) -> tuple[str, str]:
    """A fresh random key and the `OPSCORE_API_KEYS` entry that accepts it."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    key = f"ops_{secrets.token_urlsafe(32)}"
    return key, f"{scope}:sha256:{digest(key)}"


@dataclass(frozen=True)
class Key:
    """One accepted key: the digest of its secret, and its scope."""

    digest: str
    scope: str

    def allows(self, needed: str) -> bool:
        """Whether this key's scope covers `needed`."""
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


@dataclass(frozen=True)
class KeyRing:
    """Every accepted key; plain keys are never kept, only their digests."""

    keys: tuple[Key, ...]
    development: bool = False

    @classmethod
    def parse(cls, entries: str) -> KeyRing:
        """Parse `OPSCORE_API_KEYS`; blank entries are ignored."""
        return cls(tuple(_entry(e.strip()) for e in entries.split(",") if e.strip()))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """The configured keys; with none, the development key, but only on loopback."""
        ring = cls.parse(settings.api_keys)
        if ring.keys:
            return ring
        if not settings.is_loopback:
            raise ConfigError(
                f"OPSCORE_API_KEYS is empty and the service would listen on {settings.host}; "
                "configure keys (opscore keys new) before serving beyond loopback"
            )
        return cls((Key(digest(DEV_API_KEY), "admin"),), development=True)

    def identify(self, presented: str | None) -> Key | None:
        """The key `presented` is, or None.

        Every configured digest is compared, whatever the key looks like and whichever
        matched, so neither the answer nor the time it takes tells anything about the keys.
        """
        candidate = digest(presented or "")
        found = None
        for key in self.keys:
            if hmac.compare_digest(candidate, key.digest) and presented:
                found = key
        return found


def _entry(entry: str) -> Key:
    scope, _, rest = entry.partition(":")
    if scope in SCOPES and rest:
        entry = rest
    else:
        scope = DEFAULT_SCOPE
    if entry.startswith("sha256:"):
        match = _DIGEST.match(entry.lower())
        if not match:
            raise ConfigError("OPSCORE_API_KEYS: a sha256: entry needs 64 hex digits")
        return Key(match.group(1), scope)
    return Key(digest(entry), scope)
