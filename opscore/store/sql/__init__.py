"""The SQL store (SQLAlchemy Core): SQLite embedded, PostgreSQL across hosts."""

from .engine import connect, normalize_url
from .queue import SqlWorkQueue
from .store import SqlStore

__all__ = ["SqlStore", "SqlWorkQueue", "connect", "normalize_url"]
