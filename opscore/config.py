"""Settings, read once from `OPSCORE_*` environment variables; every one has a default."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from .store.base import DEFAULT_HISTORY_CAP, DEFAULT_IDEMPOTENCY_TTL


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; `from_env` documents the variable of each."""

    machines_dir: str = "machines"
    log_level: str = "INFO"
    log_format: str = "json"
    history_cap: int = DEFAULT_HISTORY_CAP
    idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `OPSCORE_<FIELD>` variables, then `overrides`; bad values raise."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in fields(cls):
            variable = f"OPSCORE_{field.name.upper()}"
            if variable in env:
                try:
                    values[field.name] = _PARSERS.get(field.name, str)(env[variable])
                except ValueError as error:
                    raise ValueError(f"{variable}={env[variable]!r}: {error}") from None
        return cls(**{**values, **overrides})


_PARSERS: dict[str, Callable[[str], Any]] = {
    "history_cap": _positive_int,
    "idempotency_ttl": float,
}
