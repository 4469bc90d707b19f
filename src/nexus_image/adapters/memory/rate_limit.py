"""A per-key sliding-log rate limiter for one process (the arithmetic, shared with the SQL
limiter, is in application/limits.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nexus_image.application.limits import admit, forget_latest, validate


class SlidingLogLimiter:
    """Exactly at most `limit` accepted hits per key in any `window` seconds: each key keeps the
    times of its accepted hits still inside the window (at most `limit` of them). Refused hits
    are not logged, so a client that keeps retrying is not locked out for longer. Thread-safe;
    keys whose hits have all left the window are forgotten (swept at most once a window)."""

    def __init__(self, limit: int, window: float = 60.0, now: Callable[[], float] = time.time) -> None:
        validate(limit, window)
        self.limit = limit
        self.window = window
        self.now = now
        self._logs: dict[str, list[float]] = {}  # key -> sorted accepted hit times
        self._lock = threading.Lock()
        self._next_sweep = float("-inf")

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`; None when allowed, else the seconds to wait."""
        moment = self.now()
        with self._lock:
            self._sweep(moment)
            log, wait = admit(self._logs.get(key, ()), moment, self.limit, self.window)
            if log:
                self._logs[key] = log
            else:
                self._logs.pop(key, None)
            return wait

    def undo(self, key: str) -> None:
        """Forget the most recent accepted hit of `key`."""
        with self._lock:
            log = forget_latest(self._logs.get(key, ()))
            if log:
                self._logs[key] = log
            else:
                self._logs.pop(key, None)

    def _sweep(self, moment: float) -> None:
        if moment < self._next_sweep:
            return
        self._next_sweep = moment + self.window
        idle = [k for k, log in self._logs.items() if log[-1] + self.window <= moment]
        for key in idle:
            del self._logs[key]
