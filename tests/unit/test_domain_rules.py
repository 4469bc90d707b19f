"""Domain rules, with properties for the invariants that billing and the state machine rely on."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain import (
    Album,
    GenerationParameters,
    IllegalTransition,
    ImageJob,
    ImageNotInAlbum,
    InsufficientTokens,
    InvalidAmount,
    InvalidValue,
    JobStatus,
    Resolution,
    Scheduler,
    Style,
    TokenAccount,
    UnknownStyle,
    UnsupportedResolution,
    price,
)
from nexus_image.domain.job import TRANSITIONS
from nexus_image.domain.styles import PRESETS

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(**kwargs: object) -> ImageJob:
    params = GenerationParameters.create(prompt="a fox", seed=1)
    return ImageJob(id="j1", user_id="u1", parameters=params, tokens_cost=5, created_at=NOW, **kwargs)  # type: ignore[arg-type]


def test_resolution_prices_are_the_published_ones() -> None:
    assert {r.value: price(r) for r in Resolution} == {
        "512x512": 5,
        "768x768": 10,
        "1024x1024": 20,
        "1024x1536": 30,
    }
    assert (Resolution.PORTRAIT_1024.width, Resolution.PORTRAIT_1024.height) == (1024, 1536)


def test_unknown_resolution_names_the_field_and_allowed_values() -> None:
    with pytest.raises(UnsupportedResolution) as caught:
        Resolution.parse("500x500")
    assert caught.value.field == "resolution"
    assert caught.value.allowed == ("512x512", "768x768", "1024x1024", "1024x1536")
    assert Resolution.parse(" 1024X1024 ") is Resolution.SQUARE_1024


def test_unknown_style_lists_the_five_styles() -> None:
    with pytest.raises(UnknownStyle) as caught:
        Style.parse("vaporwave")
    assert caught.value.allowed == ("realistic", "anime", "artistic", "3d", "sketch")
    assert Style.parse("ANIME") is Style.ANIME


@given(
    resolution=st.sampled_from(list(Resolution)),
    style=st.sampled_from(list(Style)),
    steps=st.integers(1, 100),
    seed=st.integers(0, 2**32 - 1),
    scheduler=st.sampled_from(list(Scheduler)),
    prompt=st.text(min_size=1, max_size=50).filter(lambda s: s.strip()),
)
def test_price_depends_only_on_resolution(
    resolution: Resolution, style: Style, steps: int, seed: int, scheduler: Scheduler, prompt: str
) -> None:
    params = GenerationParameters.create(
        prompt=prompt, seed=seed, style=style, resolution=resolution, steps=steps, scheduler=scheduler
    )
    expected = {"512x512": 5, "768x768": 10, "1024x1024": 20, "1024x1536": 30}[resolution.value]
    assert price(params.resolution) == expected
    same_size = GenerationParameters.create(prompt="other", seed=0, resolution=resolution)
    assert price(same_size.resolution) == expected


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("prompt", {"prompt": "   "}),
        ("prompt", {"prompt": "x" * 1001}),
        ("steps", {"steps": 0}),
        ("steps", {"steps": 101}),
        ("guidance", {"guidance": 0.5}),
        ("guidance", {"guidance": 25.0}),
        ("seed", {"seed": -1}),
        ("seed", {"seed": 2**32}),
    ],
)
def test_parameters_are_bounded(field: str, kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"prompt": "a fox", "seed": 1}
    with pytest.raises(InvalidValue) as caught:
        GenerationParameters.create(**{**base, **kwargs})
    assert caught.value.field == field


def test_style_applies_template_defaults_and_negative_prompt() -> None:
    params = GenerationParameters.create(
        prompt="  a   fox ", seed=3, style=Style.SKETCH, negative_prompt="blurry"
    )
    prompt, negative = params.styled_prompts()
    assert prompt == PRESETS[Style.SKETCH].template.format(prompt="a fox")
    assert negative.startswith("blurry, ") and negative.endswith(PRESETS[Style.SKETCH].negative_prompt)
    assert (params.steps, params.guidance) == (PRESETS[Style.SKETCH].steps, PRESETS[Style.SKETCH].guidance)


def test_job_happy_path_and_illegal_moves() -> None:
    j = job()
    with pytest.raises(IllegalTransition):
        j.complete(NOW, "k", "t")
    j.start(NOW, "w1")
    assert (j.status, j.attempts, j.worker_id) == (JobStatus.PROCESSING, 1, "w1")
    j.complete(NOW, "k", "t")
    assert j.status is JobStatus.COMPLETED
    moves: tuple[Callable[[], object], ...] = (
        lambda: j.cancel(NOW),
        lambda: j.fail(NOW, "x"),
        lambda: j.start(NOW),
        lambda: j.requeue(NOW),
    )
    for move in moves:
        with pytest.raises(IllegalTransition):
            move()
    assert j.status is JobStatus.COMPLETED


ACTIONS = {
    "start": lambda j: j.start(NOW, "w"),
    "complete": lambda j: j.complete(NOW, "k", "t"),
    "fail": lambda j: j.fail(NOW, "boom"),
    "cancel": lambda j: j.cancel(NOW),
    "requeue": lambda j: j.requeue(NOW),
}


@given(st.lists(st.sampled_from(sorted(ACTIONS)), max_size=12))
def test_every_reachable_state_sequence_is_legal(actions: list[str]) -> None:
    j = job()
    visited = [j.status]
    for name in actions:
        before = j.status
        try:
            ACTIONS[name](j)
        except IllegalTransition:
            assert j.status is before  # a refused move changes nothing
            continue
        visited.append(j.status)
    for a, b in itertools.pairwise(visited):
        assert b in TRANSITIONS[a]
    terminal_seen = [s for s in visited if s.is_terminal]
    if terminal_seen:
        assert visited[-1] is terminal_seen[0]  # terminal states absorb


account_ops = st.lists(
    st.tuples(st.sampled_from(["debit", "refund", "grant"]), st.integers(-5, 60)),
    max_size=40,
)


@given(st.integers(0, 100), account_ops)
def test_balance_never_negative_and_entries_sum_to_it(welcome: int, ops: list[tuple[str, int]]) -> None:
    account = TokenAccount.open("u1", welcome, NOW)
    for op, amount in ops:
        before = account.balance
        try:
            if op == "debit":
                account.debit(amount, "image", NOW, "j")
            elif op == "refund":
                account.refund(amount, "refund", NOW, "j")
            else:
                account.grant(amount, "gift", NOW)
        except (InsufficientTokens, InvalidAmount):
            assert account.balance == before
        assert account.balance >= 0
    assert account.balance == sum(e.amount for e in account.new_entries)
    assert all(e.amount < 0 for e in account.new_entries if e.kind.value == "DEBIT")


def test_welcome_grant_is_a_ledger_entry_and_zero_grants_nothing() -> None:
    account = TokenAccount.open("u1", 50, NOW)
    assert [(e.kind.value, e.amount, e.reason) for e in account.new_entries] == [
        ("GRANT", 50, "welcome grant")
    ]
    assert TokenAccount.open("u2", 0, NOW).new_entries == []


def test_insufficient_tokens_reports_the_shortfall() -> None:
    account = TokenAccount.open("u1", 4, NOW)
    with pytest.raises(InsufficientTokens) as caught:
        account.debit(5, "image", NOW)
    assert (caught.value.required, caught.value.balance) == (5, 4)


def test_album_rules() -> None:
    album = Album("a1", "u1", "Trips", NOW)
    album.add("i1")
    album.add("i1")
    album.add("i2")
    assert album.image_ids == ["i1", "i2"]
    album.remove("i1")
    with pytest.raises(ImageNotInAlbum):
        album.remove("i1")
    with pytest.raises(InvalidValue):
        album.rename("   ")
    album.rename("  Summer   trips ")
    assert album.name == "Summer trips"


def test_visibility_rules() -> None:
    j = job(is_public=True)
    from nexus_image.domain import AccessDenied

    with pytest.raises(AccessDenied):
        j.ensure_visible_to("someone")  # public but not completed yet
    j.start(NOW)
    j.complete(NOW, "k", "t")
    j.ensure_visible_to("someone")
    j.ensure_visible_to(None)
    j.set_visibility(False)
    with pytest.raises(AccessDenied):
        j.ensure_visible_to("someone")
    j.ensure_visible_to("u1")
