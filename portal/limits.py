"""In-process rate limits for the identity check (PO-1), per link and per client address.

The portal runs as one process (``accueil portal`` or the demo's thread), so the counters live
in memory: a restart forgets them, which only gives an attacker a fresh minute, never a
fresh lock-out (the 6-failure lock is stored on the message row). ``UnknownLinkFailures``
makes a link that does not exist behave like one that does: after 6 failed answers it shows
the same "locked" page, so the lock page says nothing about whether the link was real.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

ATTEMPTS_PER_LINK = (12, 600.0)  # at most 12 answers per link in 10 minutes
ATTEMPTS_PER_ADDRESS = (30, 600.0)  # at most 30 answers per client address in 10 minutes
MAX_KEYS = 50_000


class SlidingWindow:
    """At most ``limit`` hits per key in the last ``window`` seconds; bounded memory (oldest keys go)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:  # noqa: ANN001
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: OrderedDict[object, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: object) -> bool:
        """Count one attempt; False when the key is over its limit (the attempt is then not counted)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and now - hits[0] > self.window:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            self._hits[key] = hits
            while len(self._hits) > MAX_KEYS:
                self._hits.popitem(last=False)
            return allowed


class UnknownLinkFailures:
    """Failed answers on links the database does not know, to lock them as a real link would be."""

    def __init__(self, lock_after: int) -> None:
        self.lock_after = lock_after
        self._counts: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()

    def fail(self, key: bytes) -> bool:
        """Count a failure; True when this makes (or keeps) the link locked."""
        with self._lock:
            count = self._counts.pop(key, 0) + 1
            self._counts[key] = count
            while len(self._counts) > MAX_KEYS:
                self._counts.popitem(last=False)
            return count >= self.lock_after


__all__ = ["ATTEMPTS_PER_ADDRESS", "ATTEMPTS_PER_LINK", "SlidingWindow", "UnknownLinkFailures"]
