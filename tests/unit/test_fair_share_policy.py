"""The fair-share rules of domain.queue, as properties: tiers are served by weight, an idle tier
saves up no credit, and the rank a waiting job is told is the turn it gets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.queue import Tier, TierClock, TierPolicy, WaitingUser, dispatch_rank

weights = st.floats(min_value=0.25, max_value=8, allow_nan=False)


@given(st.dictionaries(st.sampled_from("abcde"), weights, min_size=1, max_size=5), st.integers(10, 300))
def test_backlogged_tiers_are_served_in_proportion_to_their_weights(tiers: dict[str, float], n: int) -> None:
    clock = TierClock()
    served = dict.fromkeys(tiers, 0)
    for _ in range(n):
        chosen = clock.choose(tiers, tiers)
        assert chosen is not None
        clock.served(chosen, tiers[chosen])
        served[chosen] += 1
    total = sum(tiers.values())
    for tier, weight in tiers.items():
        # stride scheduling: each tier within about one dispatch of its share
        assert abs(served[tier] - n * weight / total) <= len(tiers) + 1


@given(weights, weights, st.integers(1, 200), st.integers(1, 20))
def test_a_tier_back_from_idle_gets_no_burst(heavy: float, light: float, alone: int, after: int) -> None:
    clock = TierClock()
    w = {"heavy": heavy, "light": light}
    clock.served("light", light)
    for _ in range(alone):  # only the heavy tier has work for a while
        clock.served("heavy", heavy)
    run = 0
    for _ in range(after):
        chosen = clock.choose(w, w)
        assert chosen is not None
        clock.served(chosen, w[chosen])
        if chosen != "light":
            break
        run += 1
    # it starts at most one of its own strides behind: no more than its share in a row
    assert run <= math.ceil(light / heavy) + 1


@st.composite
def queues(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, list[WaitingUser]]]:
    names = draw(st.lists(st.sampled_from(["free", "pro", "team"]), min_size=1, max_size=3, unique=True))
    tier_weights = {name: float(draw(st.integers(1, 4))) for name in names}
    rotations: dict[str, list[WaitingUser]] = {}
    for index, name in enumerate(names):
        users = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
        rotations[name] = [WaitingUser(f"{name}-{i}", waiting) for i, waiting in enumerate(users)]
        assert index >= 0
    return tier_weights, rotations


def simulate(
    tier_weights: dict[str, float], rotations: dict[str, list[WaitingUser]]
) -> list[tuple[str, int]]:
    """The order a scheduler dispatches in, when nobody new arrives: (user, their nth job)."""
    clock = TierClock()
    # per tier, its rotation: (user, jobs left, jobs served)
    queues = {t: [(u.user_id, u.waiting, 0) for u in users] for t, users in rotations.items()}
    order: list[tuple[str, int]] = []
    while any(queues.values()):
        tier = clock.choose([t for t, q in queues.items() if q], tier_weights)
        assert tier is not None
        clock.served(tier, tier_weights[tier])
        user, left, served = queues[tier].pop(0)
        order.append((user, served + 1))
        if left > 1:
            queues[tier].append((user, left - 1, served + 1))  # served: to the back of the rotation
    return order


@settings(max_examples=150)
@given(queues())
def test_the_rank_a_waiting_job_is_told_is_the_turn_it_gets(
    queue: tuple[dict[str, float], dict[str, list[WaitingUser]]],
) -> None:
    tier_weights, rotations = queue
    order = simulate(tier_weights, rotations)
    for tier, users in rotations.items():
        for user in users:
            for nth in range(1, user.waiting + 1):
                rank = dispatch_rank(tier, user.user_id, nth, rotations, TierClock(), tier_weights)
                assert order[rank - 1] == (user.user_id, nth)


def test_the_tiers_setting_is_read_and_checked() -> None:
    policy = TierPolicy.parse(
        '{"free": {"weight": 1, "max_queued": 20, "max_running": 2}, "pro": {"weight": 3}}'
    )
    assert policy.names == ("free", "pro") and policy.default == "free"
    assert policy.tier("pro").weight == 3 and policy.tier("unknown").name == "free"
    assert policy.tier(None).max_running == 2 and policy.tier("pro").max_queued == 100
    assert TierPolicy.parse("").names == ("standard",)
    assert TierPolicy.parse("", "gold").names == ("gold",)
    for bad in (
        '{"a": {"weight": 0}}',
        '{"a": {"speed": 1}}',
        "[1]",
        "{",
        '{"a b": {}}',
        '{"a": {"max_queued": 0}}',
    ):
        with pytest.raises(InvalidValue):
            TierPolicy.parse(bad)
    with pytest.raises(InvalidValue):
        TierPolicy((Tier("a"),), default="b")
    assert Tier("a", max_running=2).at_running_cap(2) and not Tier("a").at_running_cap(1000)
