"""A per-key sliding-window rate limiter for one process, and the window arithmetic it shares
with the SQL limiter (which several API replicas share)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


def refusal(limit: int, window: float, elapsed: float, current: int, previous: int) -> float | None:
    """Sliding-window counter: the previous fixed window counts in proportion to how much of it
    still overlaps the last `window` seconds. None when one more hit fits under `limit`;
    otherwise the seconds until it would (for Retry-After). A fixed window alone would let a
    client send twice the limit across a window boundary."""
    if previous * (1 - elapsed / window) + current + 1 <= limit:
        return None
    room = limit - 1 - current  # hits the previous window may still weigh, within this window
    if room >= 0 and previous > 0:
        fits_at = window * (1 - room / previous)
        if fits_at < window:
            return max(fits_at - elapsed, 0.0)
    # Not before the next window, where this window's hits become the weighted previous ones.
    next_fits_at = window * (1 - (limit - 1) / current) if current > limit - 1 else 0.0
    return (window - elapsed) + max(next_fits_at, 0.0)


def retry_after_header(seconds: float) -> int:
    """Whole seconds, at least 1: Retry-After takes integers and 0 would invite a busy loop."""
    return max(1, math.ceil(seconds))


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
