"""Rate-limit arithmetic shared by every limiter, whichever store keeps the hits: an exact
sliding log.

A key's log is the sorted times (seconds) of its accepted hits. A hit at `now` is refused when
`limit` accepted hits lie in (now - window, now]; it then waits exactly until the oldest of those
leaves the window. So no `window` seconds ever hold more than `limit` accepted hits, and a client
that waits the returned seconds is accepted. Refused hits are not logged, so retrying does not
push the wait further. A hit at `t` is in the window at `now` while `t + window > now`; the wait
is computed from the same sum, so retrying exactly at `now + wait` finds that hit gone."""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass

from nexus_image.application.ports import Clock, RateLimitLog, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import in_transaction


def validate(limit: int, window: float) -> None:
    """Refuse a limit no hit could ever pass, or a window that holds nothing."""
    if limit < 1 or not window > 0:
        raise ValueError("a rate limit needs limit >= 1 and a positive window")


def recent(hits: Sequence[float], now: float, window: float) -> list[float]:
    """The hits of the sorted log still inside the window ending at `now` (and any a replica with
    a clock ahead of ours logged "later"), sorted."""
    return [t for t in hits if t + window > now]


def wait(hits: Sequence[float], now: float, limit: int, window: float) -> float | None:
    """None when a hit at `now` fits under `limit`; else the seconds until one does. `hits` are
    the sorted log, pruned or not."""
    inside = recent(hits, now, window)
    if len(inside) < limit:
        return None
    # The hit whose leaving brings the count under `limit` (the oldest of the `limit` newest:
    # normally the window holds exactly `limit`, more only after the limit was lowered).
    return (inside[-limit] + window) - now


def admit(hits: Sequence[float], now: float, limit: int, window: float) -> tuple[list[float], float | None]:
    """Decide a hit at `now`: the log to keep (pruned; with `now` added when accepted) and the
    wait (None: accepted). The log kept holds at most `limit` hits: older ones never matter."""
    inside = recent(hits, now, window)
    refused = wait(inside, now, limit, window)
    if refused is None:
        insort(inside, now)
    return inside[-limit:], refused


def forget_latest(hits: Sequence[float]) -> list[float]:
    """The sorted log without its most recent hit (nothing to forget in an empty one)."""
    return list(hits[:-1])


def generation_key(user_id: str) -> str:
    """The key every request that asks for generation work counts under (generate, check)."""
    return f"generate:{user_id}"


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    window: float = 60.0

    def __post_init__(self) -> None:
        validate(self.limit, self.window)

    def take(self, log: RateLimitLog, key: str, now: float) -> float | None:
        """Decide a hit of `key` at `now` in `log`'s unit of work: None when accepted (and
        logged there, kept only if that unit commits), else the seconds to wait."""
        kept, refused = admit(log.hits(key, now), now, self.limit, self.window)
        if refused is None:
            log.keep(key, kept, kept[-1] + self.window)
        return refused


@dataclass(slots=True)
class StoredRateLimiter:
    """The RateLimiter port over the units of work's logs: in SQL every API replica shares the
    hits, and a request can take its hit in its own transaction (RequestGeneration does) under
    the same key and rule as this limiter."""

    uow_factory: UnitOfWorkFactory
    rate: RateLimit
    clock: Clock

    def hit(self, key: str) -> float | None:
        moment = self.clock.now().timestamp()

        def work(uow: UnitOfWork) -> float | None:
            return self.rate.take(uow.rate_limits, key, moment)

        return in_transaction(self.uow_factory, work)

    def undo(self, key: str) -> None:
        def work(uow: UnitOfWork) -> None:
            log = forget_latest(uow.rate_limits.hits(key, self.clock.now().timestamp()))
            uow.rate_limits.keep(key, log, log[-1] + self.rate.window if log else 0.0)

        in_transaction(self.uow_factory, work)
