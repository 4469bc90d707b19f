"""Per-key rate limits: the limiter the edge asks, and the logs a unit of work keeps them in."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    """At most `limit` accepted hits per key in any `window` seconds (the arithmetic is in
    application/limits.py)."""

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`: None when allowed, else the seconds to wait (a refused hit
        is not counted)."""

    def undo(self, key: str) -> None:
        """Forget the most recent accepted hit of `key`: for a request that turned out not to
        use its slot. Nothing to forget is not an error."""


class RateLimitLog(Protocol):
    """The sliding logs of accepted hits, one per key, inside a unit of work: what lets a
    request's rate-limit check share the transaction of what it is limiting."""

    def hits(self, key: str, now: float) -> list[float]:
        """The key's accepted hit times, sorted; the key is held by this unit until it ends, so
        a concurrent unit deciding a hit of the same key waits (SQL: a row lock)."""

    def keep(self, key: str, hits: list[float], expires_at: float) -> None:
        """Store the key's log (an empty one forgets the key); `expires_at` is when every hit
        has left the window, after which the key may be swept."""
