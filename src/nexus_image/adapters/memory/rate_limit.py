"""A per-key sliding-window rate limiter for one process (the window arithmetic, shared with
the SQL limiter, is in application/limits.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nexus_image.application.limits import refusal


class SlidingWindowLimiter:
    """At most `limit` hits per key in any `window` seconds (approximately: see `refusal`).
    Refused hits are not counted, so a client that keeps retrying is not locked out for longer.
    Keys idle for two windows are forgotten."""

    def __init__(self, limit: int, window: float = 60.0, now: Callable[[], float] = time.time) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window = window
        self.now = now
        self._counts: dict[str, tuple[int, int, int]] = {}  # key -> (window index, current, previous)
        self._lock = threading.Lock()
        self._last_sweep = -1

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`; None when allowed, else the seconds to wait."""
        moment = self.now()
        index = int(moment // self.window)
        elapsed = moment - index * self.window
        with self._lock:
            self._sweep(index)
            seen, current, previous = self._counts.get(key, (index, 0, 0))
            if seen != index:
                previous = current if seen == index - 1 else 0
                current = 0
            wait = refusal(self.limit, self.window, elapsed, current, previous)
            if wait is None:
                current += 1
            self._counts[key] = (index, current, previous)
            return wait

    def _sweep(self, index: int) -> None:
        if index == self._last_sweep:
            return
        self._last_sweep = index
        for key in [k for k, (seen, _, _) in self._counts.items() if seen < index - 1]:
            del self._counts[key]
