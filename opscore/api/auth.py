"""API keys: configured as plain keys or `sha256:<hex>` digests, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from ..config import ConfigError, Settings

API_KEY_HEADER = "X-API-Key"
DEV_API_KEY = "opscore-dev-key"
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


def digest(key: str) -> str:
    """The hex SHA-256 of a key, as stored in `OPSCORE_API_KEYS` (`sha256:<hex>`)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """The digests of every accepted key; the plain keys are never kept."""

    digests: tuple[str, ...]
    development: bool = False

    @classmethod
    def parse(cls, entries: str) -> KeyRing:
        """Parse `key1,sha256:<hex>,...`; blank entries are ignored."""
        digests = []
        for entry in (e.strip() for e in entries.split(",")):
            if not entry:
                continue
            if entry.startswith("sha256:"):
                match = _DIGEST.match(entry.lower())
                if not match:
                    raise ConfigError("OPSCORE_API_KEYS: a sha256: entry needs 64 hex digits")
                digests.append(match.group(1))
            else:
                digests.append(digest(entry))
        return cls(tuple(digests))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """The configured keys; with none, the development key, but only on loopback."""
        ring = cls.parse(settings.api_keys)
        if ring.digests:
            return ring
        if not settings.is_loopback:
            raise ConfigError(
                f"OPSCORE_API_KEYS is empty and the service would listen on {settings.host}; "
                "configure keys (plain or sha256:<hex>) before serving beyond loopback"
            )
        return cls((digest(DEV_API_KEY),), development=True)

    def identify(self, presented: str | None) -> str | None:
        """The digest of `presented` when it is an accepted key, else None.

        Every configured digest is compared, so the time taken does not depend on
        which key (if any) matched.
        """
        if not presented:
            return None
        candidate = digest(presented)
        found = None
        for known in self.digests:
            if hmac.compare_digest(candidate, known):
                found = known
        return found
