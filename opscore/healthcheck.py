"""`python -m opscore.healthcheck`: exit 0 when this host's service answers `/health` with ok.

The image's HEALTHCHECK; it needs nothing but the standard library (no curl in the image).
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.request

from .config import ConfigError, Settings

TIMEOUT = 4.0
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104


def health_url(settings: Settings) -> str:
    """Where the service configured by `settings` answers `/health`, seen from its own host."""
    host = _WILDCARDS.get(settings.host, settings.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/health"


def check(url: str) -> str | None:
    """None when `url` answers 200 with status ok; else what is wrong."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310
            body = json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException) as error:
        return f"{url}: {error}"
    status = body.get("status") if isinstance(body, dict) else None
    if status != "ok":
        return f"{url}: status {status!r}"
    return None


def main() -> int:
    """Check the service this environment configures; 0 healthy, 1 not."""
    try:
        problem = check(health_url(Settings.from_env()))
    except ConfigError as error:
        problem = str(error)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
