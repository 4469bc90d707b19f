"""The queue: who is served next (tiers, users, fair share), where a queued job stands and an
estimate of when it will be ready."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from nexus_image.domain.errors import InvalidValue

DURATION_SAMPLE = 50


def mean_generation_seconds(runs: Iterable[tuple[datetime | None, datetime | None]]) -> float | None:
    """The mean of (started, completed) runs; None with no complete sample."""
    durations = [(done - began).total_seconds() for began, done in runs if began and done and done >= began]
    return sum(durations) / len(durations) if durations else None


def estimate_wait(position: int, workers: int, mean_seconds: float | None) -> int | None:
    """Seconds until a job at `position` (1 = next) is ready, when `workers` take jobs one at a
    time and each takes `mean_seconds`: the rounds of work ahead of it, its own included.
    None when nothing is known yet about how long a generation takes."""
    if mean_seconds is None or position < 1:
        return None
    rounds = math.ceil(position / max(1, workers))
    return max(1, round(rounds * mean_seconds))


# --- the fair-share policy -----------------------------------------------------------------------
#
# The next job a free worker gets is chosen by policy, not arrival:
#   * between tiers by weight: each tier with a user to serve has a virtual time (its `pass`);
#     the tier with the smallest is served and its pass moves on by 1 / weight (stride
#     scheduling, a start-time fair queuing over tiers). A tier coming back from idle starts
#     at most one of its own strides behind the last job served, so it never saved up credit;
#   * between the users of a tier round-robin: the user served least recently first (one never
#     served before anyone else);
#   * within a user first come, first served.
# Bound: a job at the front of its tier waits at most ceil(sum of the other tiers' weights / its
# tier's weight) dispatches of other tiers, and no job that a worker could take waits longer than
# the policy's `max_wait` before it is next (aging: the oldest such job is served first).

DEFAULT_TIER = "standard"
NEVER = 0.0  # the pass of a tier that was never served


@dataclass(frozen=True, slots=True)
class Tier:
    """A class of users: its share of the workers (`weight`), how many images one user may
    have waiting (`max_queued`) and running at once across the fleet (`max_running`, 0: no cap);
    their quotas: images a day and a month (UTC calendar days and months) and bytes of images
    kept (0: no quota); how many days their images are kept (`retention_days`, 0: forever)."""

    name: str
    weight: float = 1.0
    max_queued: int = 100
    max_running: int = 0
    images_per_day: int = 0
    images_per_month: int = 0
    bytes_stored: int = 0
    retention_days: int = 0

    def __post_init__(self) -> None:
        if not TIER_NAME.fullmatch(self.name):
            raise InvalidValue("tiers", f"tier name {self.name!r}: 1 to 32 letters, digits, '_' or '-'")
        if not (isinstance(self.weight, int | float) and math.isfinite(self.weight) and self.weight > 0):
            raise InvalidValue("tiers", f"tier {self.name}: weight must be a number above 0")
        if not (isinstance(self.max_queued, int) and self.max_queued >= 1):
            raise InvalidValue("tiers", f"tier {self.name}: max_queued must be a whole number from 1")
        for limit in ("max_running", *QUOTA_KEYS):
            value = getattr(self, limit)
            if isinstance(value, bool) or not (isinstance(value, int) and value >= 0):
                raise InvalidValue("tiers", f"tier {self.name}: {limit} must be a whole number from 0")

    def at_running_cap(self, running: int) -> bool:
        return self.max_running > 0 and running >= self.max_running


TIER_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
QUOTA_KEYS = ("images_per_day", "images_per_month", "bytes_stored", "retention_days")
TIER_KEYS = frozenset({"weight", "max_queued", "max_running", *QUOTA_KEYS})


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """The tiers an operator configured, the one a user gets when nothing names another, and
    the aging bound (`max_wait_seconds`)."""

    tiers: tuple[Tier, ...] = (Tier(DEFAULT_TIER),)
    default: str = DEFAULT_TIER
    max_wait_seconds: float = 600.0

    def __post_init__(self) -> None:
        names = [t.name for t in self.tiers]
        if not names or len(set(names)) != len(names):
            raise InvalidValue("tiers", "at least one tier, each name once")
        if self.default not in names:
            raise InvalidValue("default_tier", f"unknown tier {self.default!r}; tiers: {', '.join(names)}")

    @classmethod
    def parse(cls, text: str, default: str | None = None, max_wait_seconds: float = 600.0) -> TierPolicy:
        """From NEXUS_IMAGE_TIERS: a JSON object, tier name to its settings, e.g.
        {"free": {"weight": 1, "max_queued": 20, "max_running": 2}, "pro": {"weight": 3}};
        empty: one tier, `standard`. The default tier is `default`, else the first one."""
        if not text.strip():
            tiers: tuple[Tier, ...] = (Tier(default or DEFAULT_TIER),)
        else:
            try:
                body = json.loads(text)
            except json.JSONDecodeError as error:
                raise InvalidValue("tiers", f"not JSON: {error}") from None
            if not isinstance(body, dict) or not body:
                raise InvalidValue("tiers", "a JSON object of tier name to settings")
            built = []
            for name, values in body.items():
                if not isinstance(values, dict) or set(values) - TIER_KEYS:
                    raise InvalidValue(
                        "tiers", f"tier {name}: an object with some of {', '.join(sorted(TIER_KEYS))}"
                    )
                built.append(Tier(str(name), **values))
            tiers = tuple(built)
        return cls(tiers, default or tiers[0].name, max_wait_seconds)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def tier(self, name: str | None) -> Tier:
        """The tier called `name`; the default one for None or a name not configured."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        return self.tier(self.default) if name != self.default else self.tiers[0]

    def weights(self) -> dict[str, float]:
        return {t.name: float(t.weight) for t in self.tiers}


@dataclass(slots=True)
class TierClock:
    """The tiers' virtual times: `passes` per tier and `now`, the start of the last job served."""

    passes: dict[str, float] = field(default_factory=dict)
    now: float = NEVER

    def start(self, tier: str, weight: float) -> float:
        """When `tier`'s next job starts in virtual time: its pass, but never more than one of
        its strides behind the last job served (an idle tier saves up no credit)."""
        return max(self.passes.get(tier, NEVER), self.now - 1.0 / weight)

    def choose(self, candidates: Iterable[str], weights: Mapping[str, float]) -> str | None:
        """The tier served next among `candidates` (those with a user to serve); ties (to nine
        decimals: sums of strides are not exact in floating point) by name."""
        ranked = sorted(candidates, key=lambda t: (round(self.start(t, weights[t]), 9), t))
        return ranked[0] if ranked else None

    def served(self, tier: str, weight: float) -> None:
        began = self.start(tier, weight)
        self.passes[tier] = began + 1.0 / weight
        self.now = began


@dataclass(frozen=True, slots=True)
class WaitingUser:
    """One user of a tier with images waiting: in rotation order (served least recently first)."""

    user_id: str
    waiting: int


def dispatch_rank(
    tier: str,
    user_id: str,
    nth: int,
    rotations: Mapping[str, Sequence[WaitingUser]],
    clock: TierClock,
    weights: Mapping[str, float],
) -> int:
    """How many dispatches until the `nth` waiting job of `user_id` (1: their oldest) is
    dispatched, itself included, if nobody new arrives: within its tier, each user before it in
    the rotation is served up to `nth` times and each after it up to `nth - 1`; the other
    tiers are served meanwhile by their virtual times. A served job ahead takes one off (the
    count goes down one at a time); a user who joins the rotation ahead can add one per round."""
    users = rotations.get(tier, ())
    ahead, before = 0, True
    for user in users:
        if user.user_id == user_id:
            before = False
            continue
        ahead += min(user.waiting, nth if before else nth - 1)
    rank = ahead + nth  # the tier's dispatches up to this job's
    weight = weights.get(tier, 1.0)
    mine = clock.start(tier, weight) + (rank - 1) / weight
    for other, others in rotations.items():
        if other == tier or other not in weights:
            continue
        waiting = sum(u.waiting for u in others)
        lead = (mine - clock.start(other, weights[other])) * weights[other]
        if lead < -1e-9:  # sums of strides are not exact: as `choose`, equal to nine decimals
            continue
        lead = max(lead, 0.0)
        whole = math.floor(lead + 1e-9)
        served = whole + (1 if abs(lead - whole) > 1e-9 or other < tier else 0)
        rank += min(waiting, served)
    return rank
