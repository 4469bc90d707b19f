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
