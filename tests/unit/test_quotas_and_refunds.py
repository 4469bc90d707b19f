"""Domain rules of accounts: quotas per tier (their periods, limits and resets), the refund
policy on cancel, suspensions and operator takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain.account import EntryKind, TokenAccount
from nexus_image.domain.errors import InsufficientTokens, InvalidValue
from nexus_image.domain.job import ImageJob, JobStatus, RefundPolicy
from nexus_image.domain.parameters import GenerationParameters
from nexus_image.domain.queue import Tier, TierPolicy
from nexus_image.domain.quota import (
    Quota,
    QuotaExceeded,
    Usage,
    check_quotas,
    day_start,
    next_month,
    quota_states,
)

NOW = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(moments)
def test_periods_start_at_utc_midnight_and_the_first_of_the_month(at: datetime) -> None:
    day = day_start(at)
    assert day <= at < day + timedelta(days=1) and (day.hour, day.minute, day.second) == (0, 0, 0)
    following = next_month(at)
    assert following > at and following.day == 1 and (following - at) <= timedelta(days=31)


def test_next_month_rolls_over_the_year() -> None:
    assert next_month(NOW) == datetime(2027, 1, 1, tzinfo=UTC)


@given(
    limit=st.integers(min_value=1, max_value=50),
    used=st.integers(min_value=0, max_value=60),
    asked=st.integers(min_value=1, max_value=10),
)
def test_an_image_quota_allows_exactly_up_to_its_limit(limit: int, used: int, asked: int) -> None:
    tier = Tier("free", images_per_day=limit)
    usage = Usage(images_today=used, images_this_month=used)
    if used + asked <= limit:
        check_quotas(tier, usage, asked, NOW)
    else:
        with pytest.raises(QuotaExceeded) as refused:
            check_quotas(tier, usage, asked, NOW)
        state = refused.value.state
        assert state.quota is Quota.IMAGES_PER_DAY and state.used == used and state.limit == limit
        assert state.resets_at == datetime(2027, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=100))
def test_no_quota_means_no_limit(used: int, asked: int) -> None:
    check_quotas(Tier("free"), Usage(used, used, used * 1000), asked, NOW)
    assert all(s.unlimited for s in quota_states(Tier("free"), Usage(), NOW))


def test_the_storage_quota_refuses_once_reached_whatever_is_asked() -> None:
    tier = Tier("free", bytes_stored=1000)
    check_quotas(tier, Usage(bytes_stored=999), 50, NOW)
    with pytest.raises(QuotaExceeded) as refused:
        check_quotas(tier, Usage(bytes_stored=1000), 1, NOW)
    assert refused.value.state.quota is Quota.BYTES_STORED and refused.value.state.resets_at is None


def test_the_monthly_quota_applies_beside_the_daily_one() -> None:
    tier = Tier("free", images_per_day=10, images_per_month=12)
    with pytest.raises(QuotaExceeded) as refused:
        check_quotas(tier, Usage(images_today=1, images_this_month=11), 2, NOW)
    assert refused.value.state.quota is Quota.IMAGES_PER_MONTH


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_tier_quotas_are_whole_numbers_from_zero(bad: object) -> None:
    with pytest.raises(InvalidValue):
        Tier("free", images_per_day=bad)  # type: ignore[arg-type]


def test_tiers_are_parsed_with_their_quotas_and_retention() -> None:
    policy = TierPolicy.parse('{"free": {"images_per_day": 5, "bytes_stored": 1000, "retention_days": 30}}')
    free = policy.tier("free")
    assert (free.images_per_day, free.images_per_month, free.bytes_stored, free.retention_days) == (
        5,
        0,
        1000,
        30,
    )
    with pytest.raises(InvalidValue):
        TierPolicy.parse('{"free": {"images_per_week": 5}}')


def running_job(cost: int, done: int | None, total: int | None) -> ImageJob:
    job, _ = ImageJob.submit(
        "j", "alice", GenerationParameters.create(prompt="a fox", seed=1), NOW, tokens_cost=cost
    )
    job.start(NOW, "w", lease_until=NOW + timedelta(minutes=1))
    if done is not None and total is not None:
        assert job.renew_lease("w", NOW + timedelta(minutes=2), (done, total))
    return job


@given(
    cost=st.integers(min_value=1, max_value=10_000),
    total=st.integers(min_value=1, max_value=200),
    data=st.data(),
)
def test_a_proportional_refund_is_the_share_of_steps_not_run_rounded_up(
    cost: int, total: int, data: st.DataObject
) -> None:
    done = data.draw(st.integers(min_value=1, max_value=total))
    job = running_job(cost, done, total)
    refund = job.cancel_refund(RefundPolicy.PROPORTIONAL)
    assert refund * total >= cost * (total - done) > (refund - 1) * total  # the ceiling, exactly
    assert 0 <= refund <= cost
    transition = job.cancel(NOW, policy=RefundPolicy.PROPORTIONAL)
    assert job.status is JobStatus.CANCELLED
    if refund == 0:
        assert transition.movement is None
    else:
        assert transition.movement is not None and transition.movement.amount == refund
        assert transition.movement.kind is EntryKind.REFUND


@given(st.integers(min_value=1, max_value=10_000))
def test_a_job_not_started_or_without_progress_is_refunded_in_full(cost: int) -> None:
    queued, _ = ImageJob.submit(
        "q", "alice", GenerationParameters.create(prompt="a fox", seed=1), NOW, tokens_cost=cost
    )
    assert queued.cancel_refund(RefundPolicy.PROPORTIONAL) == cost
    assert running_job(cost, None, None).cancel_refund(RefundPolicy.PROPORTIONAL) == cost
    assert running_job(cost, 5, 10).cancel_refund(RefundPolicy.FULL) == cost


def test_suspension_is_idempotent_and_takes_never_go_below_zero() -> None:
    account = TokenAccount.open("bob", 10, NOW)
    assert account.suspend("spam", NOW) and not account.suspend("other", NOW)
    assert account.suspended_reason == "spam"
    assert account.reinstate() and not account.reinstate() and not account.suspended
    account.take(4, "abuse", NOW)
    assert account.balance == 6 and account.new_entries[-1].kind is EntryKind.DEBIT
    with pytest.raises(InsufficientTokens):
        account.take(7, "too much", NOW)
