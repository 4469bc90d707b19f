"""Rate limiting at the edge: what a limiter must do, whichever store counts the hits."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    """SlidingWindowLimiter (one process) and SqlRateLimiter (shared by replicas) fit this."""

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`: None when allowed, else the seconds to wait."""
