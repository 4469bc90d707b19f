"""Retention's rules in the domain: which images expire, which are kept, when an image expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from nexus_image.domain import IllegalTransition, ImageDataRemoved, ImageJob, InvalidValue, JobStatus
from nexus_image.domain.queue import TierPolicy
from nexus_image.domain.retention import (
    EVERY_PROTECTION,
    ExpirySelection,
    Protection,
    RetentionPolicy,
    parse_keeps,
)
from tests.support.builders import T0, make_job

TIERS = TierPolicy.parse('{"free": {"retention_days": 7}, "pro": {"retention_days": 30}, "forever": {}}')
NOW = T0 + timedelta(days=40)


def finished(job_id: str, days_old: float, tier: str = "free", **fields: Any) -> ImageJob:
    job = make_job(job_id, created=NOW - T0 - timedelta(days=days_old), tier=tier, **fields)
    job.start(job.created_at, "w")
    job.complete(job.created_at + timedelta(seconds=5), f"images/{job_id}.png", f"thumbs/{job_id}.webp")
    return job


def keys_and_status(job: ImageJob) -> tuple[str | None, str | None, JobStatus]:
    return job.image_key, job.thumbnail_key, job.status


def test_the_protections_setting_is_parsed_and_checked() -> None:
    assert parse_keeps("favorite,album,public") == EVERY_PROTECTION
    assert parse_keeps(" Public , album ") == {Protection.PUBLIC, Protection.ALBUM}
    assert parse_keeps("") == frozenset()
    with pytest.raises(InvalidValue) as refused:
        parse_keeps("favorite,albums")
    assert refused.value.field == "retention_keeps"
    assert refused.value.allowed == ("favorite", "album", "public")
    assert "'albums'" in refused.value.message


def test_each_limited_tier_has_a_selection_and_unknown_tiers_follow_the_default_one() -> None:
    selections = RetentionPolicy(TIERS).selections(NOW, {"free", "forever", "old", "basic"})
    assert [(s.tiers, s.created_before) for s in selections] == [
        (("free",), NOW - timedelta(days=7)),
        (("pro",), NOW - timedelta(days=30)),
        (("basic", "old"), NOW - timedelta(days=7)),  # free is the default tier
    ]
    assert len(RetentionPolicy(TIERS).selections(NOW)) == 2
    forever_default = TierPolicy.parse('{"a": {}, "b": {"retention_days": 0}}')
    assert RetentionPolicy(forever_default).selections(NOW, {"a", "gone"}) == []


def test_expiry_is_creation_plus_the_tiers_days_or_none_for_a_forever_tier() -> None:
    policy = RetentionPolicy(TIERS)
    assert policy.expires_at(make_job("a", tier="free")) == T0 + timedelta(days=7)
    assert policy.expires_at(make_job("b", tier="pro")) == T0 + timedelta(days=30)
    assert policy.expires_at(make_job("c", tier="forever")) is None
    assert policy.expires_at(make_job("d", tier="gone")) == T0 + timedelta(days=7)  # the default's


@pytest.mark.parametrize(
    ("job_fields", "favorited", "in_album", "covered"),
    [
        ({}, False, False, True),
        ({}, True, False, False),  # its owner favorited it
        ({}, False, True, False),  # in an album
        ({"is_public": True}, False, False, False),  # public
    ],
)
def test_an_expired_image_goes_unless_protected(
    job_fields: dict[str, Any], favorited: bool, in_album: bool, covered: bool
) -> None:
    selection = ExpirySelection(("free",), NOW - timedelta(days=7), EVERY_PROTECTION)
    job = finished("x", 8, **job_fields)
    assert selection.covers(job, favorited, in_album) is covered
    unprotected = ExpirySelection(("free",), NOW - timedelta(days=7), frozenset())
    assert unprotected.covers(job, favorited, in_album) is True


@pytest.mark.parametrize("keep", list(Protection))
def test_each_protection_can_be_turned_off_alone(keep: Protection) -> None:
    selection = ExpirySelection(("free",), NOW - timedelta(days=7), EVERY_PROTECTION - {keep})
    job = finished("x", 8, is_public=keep is Protection.PUBLIC)
    assert selection.covers(job, keep is Protection.FAVORITE, keep is Protection.ALBUM) is True


def test_young_unfinished_removed_and_other_tier_images_are_not_covered() -> None:
    selection = ExpirySelection(("free",), NOW - timedelta(days=7), EVERY_PROTECTION)
    assert selection.covers(finished("old", 7.01), False, False)
    assert not selection.covers(finished("young", 6.99), False, False)
    assert not selection.covers(finished("pro", 8, tier="pro"), False, False)
    queued = make_job("queued", created=NOW - T0 - timedelta(days=9), tier="free")
    assert queued.status is JobStatus.QUEUED and not selection.covers(queued, False, False)
    failed = make_job("failed", created=NOW - T0 - timedelta(days=9), tier="free")
    failed.fail(NOW, "boom")
    assert selection.covers(failed, False, False)  # finished, whatever its end
    gone = finished("gone", 9)
    gone.remove_data(NOW)
    assert not selection.covers(gone, False, False)
    several = ExpirySelection(("basic", "old"), NOW - timedelta(days=7), EVERY_PROTECTION)
    assert several.covers(finished("renamed", 8, tier="basic"), False, False)
    assert not several.covers(finished("free", 8), False, False)


def test_a_public_image_that_never_completed_is_not_protected() -> None:
    selection = ExpirySelection(("free",), NOW - timedelta(days=7), EVERY_PROTECTION)
    failed = make_job("f", created=NOW - T0 - timedelta(days=9), tier="free", is_public=True)
    failed.fail(NOW, "boom")
    assert selection.covers(failed, False, False)


def test_removing_data_marks_keeps_keys_until_forgotten_and_refuses_running_jobs() -> None:
    job = finished("x", 8, stored_bytes=1234)
    job.remove_data(NOW)
    assert job.data_removed_at == NOW and job.stored_bytes == 0
    assert job.image_key == "images/x.png"  # its objects are still to be deleted
    job.remove_data(NOW + timedelta(hours=1))
    assert job.data_removed_at == NOW
    job.forget_files()
    assert keys_and_status(job) == (None, None, JobStatus.COMPLETED)
    with pytest.raises(ImageDataRemoved, match="removed on"):
        job.ensure_data_kept()
    running = make_job("r")
    running.start(T0, "w")
    with pytest.raises(IllegalTransition):
        running.remove_data(NOW)
    kept = make_job("k")
    kept.forget_files()  # nothing happens to a job whose data was not removed
    kept.ensure_data_kept()
