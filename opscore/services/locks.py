"""Per-instance serialization with a fixed set of striped locks: bounded memory at any size."""

from __future__ import annotations

import threading
import zlib

DEFAULT_STRIPES = 1024


class StripedLocks:
    """Maps every instance id to one of a fixed number of locks.

    Never hold one instance's lock while taking another's: two ids may share a stripe.
    """

    def __init__(self, stripes: int = DEFAULT_STRIPES) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def of(self, instance_id: str) -> threading.Lock:
        """The lock that serializes writes to `instance_id`."""
        return self._locks[zlib.crc32(instance_id.encode()) % len(self._locks)]
