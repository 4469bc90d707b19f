"""The exact sliding-log rate limit: its arithmetic (application/limits.py), a property over
random hit times, and the in-process limiter on a manual clock."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.adapters.memory.rate_limit import SlidingLogLimiter
from nexus_image.application.limits import (
    RateLimit,
    StoredRateLimiter,
    admit,
    forget_latest,
    recent,
    validate,
    wait,
)
from nexus_image.application.ports import RateLimiter
from nexus_image.entrypoints.http.limits import retry_after_header
from nexus_image.testing import MemoryStore


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


def sliding(limit: int, window: float, now: Clock) -> RateLimiter:
    return SlidingLogLimiter(limit, window, now=now)


def stored(limit: int, window: float, now: Clock) -> RateLimiter:
    """The limiter the service builds: the logs in units of work (here the in-memory ones)."""
    return StoredRateLimiter(MemoryStore().unit_of_work, RateLimit(limit, window), now)


LIMITERS = pytest.mark.parametrize("make", [sliding, stored], ids=["in-process", "in units of work"])


# --- the arithmetic ------------------------------------------------------------------------------


def test_a_hit_leaves_the_window_exactly_window_seconds_later() -> None:
    assert recent([100.0, 130.0, 159.0], 160.0, 60.0) == [130.0, 159.0]  # (100, 160]: 100 is out
    assert recent([100.0, 130.0], 159.999, 60.0) == [100.0, 130.0]


@pytest.mark.parametrize(
    ("hits", "now", "limit", "expected"),
    [
        ([], 1000.0, 1, None),
        ([990.0, 995.0], 1000.0, 3, None),
        ([990.0, 995.0, 999.0], 1000.0, 3, 50.0),  # the oldest of the 3 leaves at 1050
        ([900.0, 990.0, 995.0, 999.0], 1000.0, 3, 50.0),  # 900 is out of the window already
        ([990.0, 995.0, 999.0], 1050.0, 3, None),
        ([990.0, 995.0, 999.0, 999.5], 1000.0, 3, 55.0),  # 4 in (a lowered limit): 2 must leave
        ([999.0, 999.0], 1000.0, 2, 59.0),
    ],
)
def test_the_wait_is_until_the_oldest_of_the_limit_newest_leaves(
    hits: list[float], now: float, limit: int, expected: float | None
) -> None:
    assert wait(hits, now, limit, 60.0) == expected


def test_admit_logs_accepted_hits_only_and_keeps_at_most_limit() -> None:
    log, refused = admit([900.0, 950.0], 1000.0, 2, 60.0)
    assert (log, refused) == ([950.0, 1000.0], None)
    again, refused = admit(log, 1001.0, 2, 60.0)
    assert (again, refused) == ([950.0, 1000.0], 9.0)  # not logged
    lowered, refused = admit([990.0, 995.0, 999.0], 1000.0, 2, 60.0)
    assert (lowered, refused) == ([995.0, 999.0], 55.0)
    assert admit([1005.0], 1000.0, 2, 60.0) == ([1000.0, 1005.0], None)  # kept sorted (skew)


def test_forget_latest_drops_the_newest_hit() -> None:
    assert forget_latest([1.0, 2.0, 3.0]) == [1.0, 2.0]
    assert forget_latest([]) == []


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (1, 0.0), (1, -1.0), (1, math.nan)])
def test_nonsense_limits_are_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        validate(limit, window)
    with pytest.raises(ValueError, match="rate limit"):
        SlidingLogLimiter(limit, window)


# Epoch-like times (at least one window after 0), as the limiters see them; ties included.
moments = st.one_of(
    st.floats(min_value=1_000.0, max_value=1_400.0, allow_nan=False),
    st.integers(min_value=1_000, max_value=1_400).map(float),
)


@settings(max_examples=300, deadline=None)
@given(
    times=st.lists(moments, min_size=1, max_size=60).map(sorted),
    limit=st.integers(min_value=1, max_value=6),
    window=st.sampled_from([0.5, 7.25, 60.0, 100.0]),
)
def test_no_window_ever_holds_more_than_limit_and_the_wait_is_exact(
    times: list[float], limit: int, window: float
) -> None:
    log: list[float] = []
    accepted: list[float] = []
    for now in times:
        after, refused = admit(log, now, limit, window)
        if refused is None:
            accepted.append(now)
            log = after
            continue
        assert refused > 0 and after == log[-limit:]  # a refusal logs nothing
        assert admit(log, now + refused, limit, window)[1] is None  # exactly then, a slot is open
        just_before = math.nextafter(now + refused, -math.inf)
        for early in (just_before, now + refused * 0.999):
            assert admit(log, early, limit, window)[1] is not None
    for end in accepted:  # the fullest windows end at an accepted hit
        assert sum(1 for t in accepted if t + window > end and t <= end) <= limit


# --- the in-process limiter --------------------------------------------------------------------


def test_the_memory_limiter_fits_the_port() -> None:
    assert isinstance(SlidingLogLimiter(1), RateLimiter)


@LIMITERS
def test_the_issues_case_ten_a_minute_means_ten_in_any_59_seconds(
    make: Callable[[int, float, Clock], RateLimiter],
) -> None:
    """The approximate counter let 19 through in 59 s at a limit of 10: 9 at the end of one
    fixed minute (when it weighs little) and 10 at the start of the next."""
    clock = Clock(60_000.0 + 50.0)  # 50 s into a fixed minute
    limiter = make(10, 60.0, clock)
    attempts = [60_050.0 + i * 0.5 for i in range(19)] + [60_060.0 + i for i in range(49)]
    assert attempts[-1] - attempts[0] < 60.0
    accepted = []
    for at in attempts:
        clock.at = at
        if limiter.hit("u") is None:
            accepted.append(at)
    assert len(accepted) == 10 and accepted == attempts[:10]
    clock.at = accepted[0] + 60.0  # the first leaves the window: one slot, not more
    assert limiter.hit("u") is None
    assert limiter.hit("u") == pytest.approx(0.5)


@LIMITERS
def test_a_steady_client_gets_exactly_the_limit_per_window(
    make: Callable[[int, float, Clock], RateLimiter],
) -> None:
    clock = Clock(5_000.0)
    limiter = make(10, 60.0, clock)
    accepted = []
    for second in range(600):  # one attempt a second for ten minutes
        clock.at = 5_000.0 + second
        if limiter.hit("u") is None:
            accepted.append(second)
    assert len(accepted) == 100
    assert all(sum(1 for s in accepted if end - 60 < s <= end) <= 10 for end in range(600))


@LIMITERS
def test_retry_after_is_when_the_slot_opens(make: Callable[[int, float, Clock], RateLimiter]) -> None:
    clock = Clock(1_000.0)
    limiter = make(2, 60.0, clock)
    assert limiter.hit("alice") is None
    clock.at = 1_012.4
    assert limiter.hit("alice") is None
    clock.at = 1_030.2
    refused = limiter.hit("alice")
    assert refused == pytest.approx(29.8)  # the first hit leaves at 1060
    assert refused is not None and retry_after_header(refused) == 30
    for _ in range(3):  # retrying meanwhile changes nothing
        assert limiter.hit("alice") == refused
    clock.at = 1_030.2 + 29
    assert limiter.hit("alice") == pytest.approx(0.8)
    clock.at = 1_030.2 + 30  # what Retry-After said
    assert limiter.hit("alice") is None
    assert limiter.hit("alice") == pytest.approx(1_012.4 + 60 - clock.at)  # the second, then
    assert limiter.hit("bob") is None  # per key


@LIMITERS
def test_undo_forgets_the_most_recent_accepted_hit(make: Callable[[int, float, Clock], RateLimiter]) -> None:
    clock = Clock(1_000.0)
    limiter = make(2, 60.0, clock)
    limiter.undo("alice")  # nothing to forget: fine
    assert limiter.hit("alice") is None
    clock.at = 1_030.0
    assert limiter.hit("alice") is None
    assert limiter.hit("alice") == pytest.approx(30.0)
    limiter.undo("alice")  # the hit at 1030 is forgotten, the one at 1000 stays
    clock.at = 1_031.0
    assert limiter.hit("alice") is None
    assert limiter.hit("alice") == pytest.approx(29.0)
    limiter.undo("alice")
    limiter.undo("alice")
    limiter.undo("alice")  # more undos than hits: an empty log, not an error
    assert [limiter.hit("alice") for _ in range(3)] == [None, None, 60.0]


@LIMITERS
def test_concurrent_hits_never_exceed_the_limit(make: Callable[[int, float, Clock], RateLimiter]) -> None:
    limiter = make(5, 60.0, Clock(9_000.0))
    results: list[float | None] = []
    lock, start = threading.Lock(), threading.Barrier(16)

    def hit() -> None:
        start.wait()
        outcome = limiter.hit("racer")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 16 and sum(r is None for r in results) == 5


def test_idle_keys_are_forgotten() -> None:
    clock = Clock(1_000.0)
    limiter = SlidingLogLimiter(1, 60.0, now=clock)
    limiter.hit("a")
    clock.at = 1_030.0
    limiter.hit("b")
    clock.at = 1_075.0  # a's hit left the window, b's has not
    limiter.hit("c")
    assert set(limiter._logs) == {"b", "c"}
    limiter.undo("c")
    assert set(limiter._logs) == {"b"}


def test_a_hit_taken_in_a_unit_of_work_that_rolls_back_is_not_counted() -> None:
    store, rate, at = MemoryStore(), RateLimit(1, 60.0), 5_000.0
    with store.unit_of_work() as uow:
        assert rate.take(uow.rate_limits, "k", at) is None
        uow.rollback()
    with store.unit_of_work() as uow:
        assert rate.take(uow.rate_limits, "k", at) is None
        assert rate.take(uow.rate_limits, "k", at) == 60.0  # this unit sees its own hit
        uow.commit()
    assert store.rate_limits == {"k": [at]}


def test_a_key_is_held_until_the_unit_that_read_it_ends() -> None:
    store, rate = MemoryStore(), RateLimit(1, 60.0)
    first = store.unit_of_work()
    assert rate.take(first.rate_limits, "k", 1.0) is None
    outcome: list[float | None] = []

    def second() -> None:
        with store.unit_of_work() as uow:
            outcome.append(rate.take(uow.rate_limits, "k", 2.0))
            uow.commit()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and outcome == []  # waiting for the key, as on a row lock
    first.commit()
    thread.join(5)
    assert outcome == [59.0]


def test_a_key_whose_window_passed_leaves_no_log_and_no_lock_behind() -> None:
    store, rate = MemoryStore(), RateLimit(2, 60.0)
    with store.unit_of_work() as uow:
        assert rate.take(uow.rate_limits, "old", 1_000.0) is None
        uow.commit()
    assert set(store.rate_limits) == {"old"} and set(store.rate_limit_locks.by_key) == {"old"}
    with store.unit_of_work() as uow:  # the window (and a second's slack) passed: another key's unit sweeps
        assert rate.take(uow.rate_limits, "new", 1_061.0) is None
        uow.commit()
    assert set(store.rate_limits) == {"new"} and set(store.rate_limit_locks.by_key) == {"new"}
    limiter = StoredRateLimiter(store.unit_of_work, rate, Clock(1_070.0))
    limiter.undo("new")  # an emptied log goes at once, lock and all
    assert store.rate_limits == {} and store.rate_limit_locks.by_key == {}
    with store.unit_of_work() as uow:
        assert rate.take(uow.rate_limits, "refused", 1_080.0) is None
        uow.rollback()  # nothing kept: nothing left
    assert store.rate_limits == {} and store.rate_limit_locks.by_key == {}


def test_forgetting_idle_keys_never_lets_two_units_hold_one_key() -> None:
    """Each unit empties the key's log again (so it is forgotten whenever nobody holds or waits
    for it): the units deciding that key still take it one at a time."""
    store, rate = MemoryStore(), RateLimit(1, 60.0)
    inside, most, guard = [0], [0], threading.Lock()
    start = threading.Barrier(8)

    def unit() -> None:
        start.wait()
        for _ in range(50):
            with store.unit_of_work() as uow:
                assert rate.take(uow.rate_limits, "k", 1_000.0) is None  # alone: the log is empty
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.001)  # others queue for the key meanwhile
                uow.rate_limits.keep("k", [], 0.0)
                with guard:
                    inside[0] -= 1
                uow.commit()

    threads = [threading.Thread(target=unit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most[0] == 1
    assert store.rate_limits == {} and store.rate_limit_locks.by_key == {}
