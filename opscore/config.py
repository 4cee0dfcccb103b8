"""Settings, read once from `OPSCORE_*` environment variables; every one has a default.

The ground floor: this module imports nothing of Ops-Core, and the defaults below are the
ones every layer uses when it is not given a setting.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_HISTORY_CAP = 1000  # transition records kept per instance
DEFAULT_IDEMPOTENCY_TTL = 24 * 3600.0  # seconds an Idempotency-Key answer is kept
MAX_JSON_BYTES = 64 * 1024  # largest stored JSON document (metadata, data, input, output)
DEFAULT_QUEUE_CAPACITY = 1000  # work items ready or running at once
DEFAULT_WORKERS = 4  # step worker threads per process
DEFAULT_WORK_LEASE = 60.0  # seconds a SQL queue's claim lasts unless its worker renews it
DEFAULT_PUSH_ATTEMPTS = 5  # tries at pushing a task to its agent before it is undeliverable
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds a client has to send a request's headers
DEFAULT_BODY_TIMEOUT = 30.0  # seconds a client has to send a request's body after them
# CPython's cyclic collector in a service process (docs/deployment.md): a young generation of
# 50,000 objects instead of 700, so the copies each commit makes die before it is scanned.
DEFAULT_GC_THRESHOLDS = (50_000, 20, 20)


class ConfigError(ValueError):
    """A setting is invalid, or settings contradict each other."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port (0-65535)")
    return value


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError("must be true or false")


_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _module_names(text: str) -> str:
    for name in _split(text):
        if not _MODULE_NAME.match(name):
            raise ValueError(f"{name!r} is not a module name")
    return text


def _gc_thresholds(text: str) -> tuple[int, int, int] | None:
    if text.strip().lower() == "python":
        return None  # leave CPython's own
    parts = text.split(",")
    if len(parts) != 3 or not all(part.strip().isdigit() for part in parts):
        raise ValueError("must be three whole numbers, such as 50000,20,20, or python")
    first, second, third = (int(part) for part in parts)
    if min(first, second, third) < 1:
        raise ValueError("each must be at least 1")
    return first, second, third


def _split(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _networks(text: str) -> str:
    for entry in _split(text):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an address or a network (CIDR)") from None
    return text


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be positive")
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; the variable of field `x` is `OPSCORE_X`."""

    machines_dir: str = "machines"
    log_level: str = "INFO"
    log_format: str = "json"
    history_cap: int = DEFAULT_HISTORY_CAP
    idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: str = ""
    max_body_bytes: int = 1024 * 1024
    max_json_bytes: int = MAX_JSON_BYTES
    threads: int = 8
    workers: int = DEFAULT_WORKERS
    queue_capacity: int = DEFAULT_QUEUE_CAPACITY
    work_lease: float = DEFAULT_WORK_LEASE
    database_url: str = "sqlite:///var/opscore.db"
    sqlite_synchronous: str = "FULL"
    processes: int = 0
    max_streams: int = 4
    migrate_on_start: bool = False
    # Push to agents and AgentKit (opscore/push, docs/push.md)
    push_allowed_hosts: str = ""
    push_attempts: int = DEFAULT_PUSH_ATTEMPTS
    agentkit_secret: str = dataclasses.field(default="", repr=False)
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    plugins: str = ""
    trusted_proxies: str = ""  # addresses and networks whose X-Forwarded-For is believed
    gc_thresholds: tuple[int, int, int] | None = DEFAULT_GC_THRESHOLDS  # None: Python's own

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
                    raise ConfigError(f"{variable}={env[variable]!r}: {error}") from None
        return cls(**{**values, **overrides})

    @property
    def in_memory(self) -> bool:
        """Whether state lives in this process only (`memory://`)."""
        return self.database_url == "memory://"

    @property
    def web_processes(self) -> int:
        """Gunicorn processes: one for the in-memory store, else `processes` (default 2)."""
        if self.in_memory:
            return 1
        return self.processes if self.processes > 0 else 2

    @property
    def development(self) -> bool:
        """Development mode: no API keys, and listening on loopback (the development key works)."""
        return not self.api_keys.strip(", ") and self.is_loopback

    @property
    def plugin_modules(self) -> tuple[str, ...]:
        """The modules `plugins` names, in order."""
        return _split(self.plugins)

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The networks `trusted_proxies` names (an address is a network of one)."""
        return tuple(
            ipaddress.ip_network(entry, strict=False) for entry in _split(self.trusted_proxies)
        )

    @property
    def is_loopback(self) -> bool:
        """Whether the service listens only on this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


_PARSERS: dict[str, Callable[[str], Any]] = {
    "history_cap": _positive_int,
    "idempotency_ttl": _positive_float,
    "port": _port,
    "max_body_bytes": _positive_int,
    "max_json_bytes": _positive_int,
    "threads": _positive_int,
    "workers": int,
    "queue_capacity": _positive_int,
    "work_lease": _positive_float,
    "processes": int,
    "max_streams": _positive_int,
    "migrate_on_start": _boolean,
    "push_attempts": _positive_int,
    "header_timeout": _positive_float,
    "body_timeout": _positive_float,
    "plugins": _module_names,
    "trusted_proxies": _networks,
    "gc_thresholds": _gc_thresholds,
}
