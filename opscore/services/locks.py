"""Per-instance serialization with a fixed set of striped locks: bounded memory at any size."""

from __future__ import annotations

import threading

DEFAULT_STRIPES = 1024


class StripedLocks:
    """Maps every instance id to one of a fixed number of locks.

    Never hold one instance's lock while taking another's: two ids may share a stripe.
    """

    def __init__(self, stripes: int = DEFAULT_STRIPES) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]
        self._stripes = stripes

    def of(self, instance_id: str) -> threading.Lock:
        """The lock that serializes writes to `instance_id`."""
        # str's hash is computed once per string and cached; it differs between processes,
        # which is fine for locks that live in one.
        return self._locks[hash(instance_id) % self._stripes]
