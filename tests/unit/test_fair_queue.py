"""The fair queue through the real use cases on the in-memory adapters: who is dispatched next
(tiers by weight, users round-robin, each user first come first served), the caps, deadlines,
pause, and the place a waiting job is told."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import pytest

from nexus_image.application import GenerateImage
from nexus_image.application.errors import UserQueueFull
from nexus_image.application.process_outcome import Outcome
from nexus_image.domain import GenerationDispatched, GenerationExpired, ImageJob
from nexus_image.domain.queue import Tier, TierPolicy
from nexus_image.testing import MemoryStore
from tests.support.driver import Fakes, hand_out

from .conftest import World


def fair_world(policy: TierPolicy, welcome_grant: int = 100_000) -> World:
    store, fakes = MemoryStore(), Fakes()
    service = fakes.service(store.unit_of_work, welcome_grant, tier_policy=policy)
    return World(store, fakes.clock, fakes.storage, fakes.queue, fakes.generator, service, [])


@dataclass
class Served:
    job_id: str
    user_id: str
    tier: str


def ask(world: World, user: str, images: int = 1, tier: str | None = None, **fields: object) -> list[str]:
    command = GenerateImage(user, "a lighthouse", steps=1, num_images=images, tier=tier, **fields)  # type: ignore[arg-type]
    views, _ = world.service.request.submit(command)
    return [v.id for v in views]


def serve(world: World, count: int) -> list[Served]:
    """`count` turns of one free worker: the dispatcher dispatches one job, the worker runs it."""
    served: list[Served] = []
    for _ in range(count):
        if world.service.dispatcher.execute(room=1) == 0:
            break
        world.service.relay.drain()
        [delivery] = world.queue.receive(1, 0)
        with world.store.unit_of_work() as uow:
            row = uow.jobs.get(delivery.job_id)
        assert row is not None
        world.service.process(delivery.job_id)
        world.queue.acknowledge(delivery)
        served.append(Served(row.id, row.user_id, row.tier))
        world.clock.advance(seconds=1)
    return served


TWO_TIERS = TierPolicy((Tier("free", 1, max_queued=200), Tier("pro", 3, max_queued=200)), default="free")


def test_a_single_request_is_served_next_to_a_burst_of_another_user() -> None:
    world = fair_world(TierPolicy((Tier("standard", max_queued=100),)))
    for _ in range(6):
        ask(world, "alice", images=4)  # 24 images
    first = serve(world, 2)
    [bob] = ask(world, "bob")
    order = [s.user_id for s in first + serve(world, 3)]
    assert order[:2] == ["alice", "alice"]
    assert order.index("bob") == 2  # served as soon as a worker was free: no more of alice's first
    assert world.service.get_image("bob", bob).status == "COMPLETED"


def test_users_of_a_tier_take_turns_and_each_is_served_in_order() -> None:
    world = fair_world(TierPolicy((Tier("standard", max_queued=100),)))
    jobs = {user: ask(world, user, images=3) for user in ("carol", "alice", "bob")}
    served = serve(world, 9)
    assert [s.user_id for s in served] == ["alice", "bob", "carol"] * 3  # none served yet: by name
    for user, ids in jobs.items():
        assert [s.job_id for s in served if s.user_id == user] == ids  # first come, first served


def test_two_tiers_flooding_are_served_by_their_weights() -> None:
    world = fair_world(TWO_TIERS)
    for user, tier in (("p1", "pro"), ("p2", "pro"), ("f1", "free"), ("f2", "free")):
        for _ in range(10):
            ask(world, user, images=4, tier=tier)
    served = serve(world, 40)
    pro = sum(s.tier == "pro" for s in served)
    assert 30 * 0.8 <= pro <= 30 * 1.2 and len(served) == 40
    assert pro == 30  # stride scheduling is exact over whole rounds
    pro_users = [s.user_id for s in served if s.tier == "pro"]
    assert abs(pro_users.count("p1") - pro_users.count("p2")) <= 1


def test_a_lone_light_job_waits_at_most_its_bound_under_a_heavy_flood() -> None:
    world = fair_world(TWO_TIERS)
    for user in ("p1", "p2", "p3"):
        ask(world, user, images=4, tier="pro")
    serve(world, 5)  # the heavy tier is running
    [lone] = ask(world, "f1", tier="free")
    served = serve(world, 6)
    # bound: ceil(sum of the other weights / its weight) = 3 other dispatches, then it
    assert [s.job_id for s in served].index(lone) <= 3


def test_a_job_waiting_past_the_aging_bound_is_served_first() -> None:
    policy = TierPolicy((Tier("free", 1, max_queued=200), Tier("pro", 1000, max_queued=200)), "free", 60)
    world = fair_world(policy)
    light = [ask(world, user, tier="free")[0] for user in ("f1", "f2", "f3")]
    for _ in range(5):
        ask(world, "p1", images=4, tier="pro")
    served = serve(world, 4)
    assert [s.tier for s in served] == ["free", "pro", "pro", "pro"]  # one light job per 1000 heavy
    world.clock.advance(seconds=61)
    assert [s.job_id for s in serve(world, 2)] == light[1:]  # until the light ones waited too long


def test_the_running_cap_holds_jobs_back_without_holding_other_users() -> None:
    world = fair_world(TierPolicy((Tier("standard", max_queued=100, max_running=2),)))
    alice = ask(world, "alice", images=4)
    bob = ask(world, "bob", images=1)
    assert world.service.dispatcher.execute(room=10) == 3  # two of alice's, bob's one
    with world.store.unit_of_work() as uow:
        assert {j.id for j in uow.queue.dispatched(10)} == {*alice[:2], *bob}
        assert uow.queue.head("alice") is not None and uow.queue.head("alice").id == alice[2]  # type: ignore[union-attr]
    assert world.run_queue().count("COMPLETED") == 5  # as each finishes, the next of alice's goes


def test_a_full_queue_refuses_the_request_and_charges_nothing() -> None:
    world = fair_world(TierPolicy((Tier("standard", max_queued=5),)), welcome_grant=100)
    ask(world, "alice", images=4)
    before = world.balance()
    with pytest.raises(UserQueueFull) as refused:
        ask(world, "alice", images=2)
    assert (refused.value.cap, refused.value.queued, refused.value.tier) == (5, 4, "standard")
    assert refused.value.retry_after >= 1
    assert world.balance() == before == world.ledger_sum()
    with world.store.unit_of_work() as uow:
        assert uow.queue.queued_count("alice") == 4
    ask(world, "alice", images=1)  # up to the cap is fine
    ask(world, "bob", images=4)  # another user's queue is theirs


def test_a_deadline_that_passes_while_queued_expires_the_job_with_a_refund() -> None:
    world = fair_world(TierPolicy())
    [job] = ask(world, "alice", deadline_seconds=30)
    charged = world.balance()
    world.clock.advance(seconds=31)
    assert world.service.dispatcher.execute(room=1) == 0  # expired, nothing to dispatch
    view = world.service.get_image("alice", job)
    assert view.status == "EXPIRED" and view.started_at is None
    assert world.balance() == charged + view.tokens_cost == world.ledger_sum()
    with world.store.unit_of_work() as uow:
        assert any(isinstance(r.event, GenerationExpired) for r in uow.outbox.pending(10))


def test_a_deadline_that_passes_while_dispatched_is_never_started() -> None:
    world = fair_world(TierPolicy())
    [job] = ask(world, "alice", deadline_seconds=5)
    hand_out(world.service, room=1)
    [delivery] = world.queue.receive(1, 0)
    world.clock.advance(seconds=6)
    outcomes = world.service.worker.execute_batch_pipelined([job], lambda step: None, dispatched_only=True)  # type: ignore[arg-type,return-value]
    assert outcomes[0].result().status is Outcome.EXPIRED
    view = world.service.get_image("alice", job)
    assert view.status == "EXPIRED" and view.started_at is None
    assert world.balance() == 100_000 == world.ledger_sum()
    assert delivery.job_id == job


def test_a_deadline_that_is_met_completes_normally() -> None:
    world = fair_world(TierPolicy())
    [job] = ask(world, "alice", deadline_seconds=30)
    world.clock.advance(seconds=10)
    assert world.run_queue() == ["COMPLETED"]
    assert world.service.get_image("alice", job).status == "COMPLETED"


def test_pause_accepts_and_charges_but_starts_nothing_until_resumed() -> None:
    world = fair_world(TierPolicy())
    [early] = ask(world, "alice")
    hand_out(world.service, room=1)  # dispatched before the pause: its message is on its way
    assert world.service.queue.pause() == 1
    [late] = ask(world, "alice")
    assert world.balance() < 100_000  # charged
    assert world.service.dispatcher.execute(room=5) == 0
    [delivery] = world.queue.receive(1, 0)
    skipped = world.service.worker.claim.start(delivery.job_id, dispatched_only=True)
    assert not isinstance(skipped, ImageJob) and skipped.status is Outcome.SKIPPED
    assert world.service.queue.status().paused
    world.service.queue.resume()
    assert world.run_queue() == ["COMPLETED", "COMPLETED"]
    assert {world.service.get_image("alice", j).status for j in (early, late)} == {"COMPLETED"}


def test_queue_positions_follow_the_policy_and_count_down() -> None:
    world = fair_world(TWO_TIERS)
    ids = ask(world, "p1", images=4, tier="pro") + ask(world, "f1", images=3, tier="free")
    ids += ask(world, "p2", images=2, tier="pro")
    told = {job: world.service.images.get(_owner(world, job), job).queue_position or 0 for job in ids}
    order = [s.job_id for s in serve(world, len(ids))]
    assert sorted(told.values()) == list(range(1, len(ids) + 1))  # a place each, none shared
    assert [told[j] for j in order] == list(range(1, len(ids) + 1))  # and the one it got


def test_a_waiting_jobs_place_goes_down_one_by_one() -> None:
    world = fair_world(TierPolicy((Tier("standard", max_queued=100),)))
    ask(world, "alice", images=4)
    ask(world, "bob", images=4)
    [last] = ask(world, "carol", images=1)[-1:]
    places: list[int] = []
    while world.service.images.get("carol", last).status == "QUEUED":
        place = world.service.images.get("carol", last).queue_position
        assert place is not None
        places.append(place)
        if not serve(world, 1):
            break
    assert places == sorted(places, reverse=True) and places[-1] == 1
    assert all(a - b == 1 for a, b in pairwise(places))


def test_dispatches_go_to_workers_with_room_on_the_partitions_they_read() -> None:
    world = fair_world(TierPolicy())
    world.service.queue.seat("w1", 2, {"": (0, 1)})
    world.service.queue.seat("w2", 1, {"": ()})  # reads nothing yet: nothing aimed at it
    ask(world, "alice", images=4)
    assert world.service.dispatcher.execute() == 2
    with world.store.unit_of_work() as uow:
        sent = [r.event for r in uow.outbox.pending(20) if isinstance(r.event, GenerationDispatched)]
    assert [(e.worker_id, e.partition) for e in sent] == [("w1", 0), ("w1", 1)]
    assert world.service.dispatcher.execute() == 0  # w1 is full until it starts one
    world.clock.advance(seconds=61)
    assert world.service.dispatcher.execute() == 0  # w1 said nothing for a minute: gone
    world.service.queue.seat("w1", 2, {"": (0, 1)})
    assert world.service.dispatcher.execute() == 2  # not started in a minute: sent again


def _owner(world: World, job_id: str) -> str:
    with world.store.unit_of_work() as uow:
        row = uow.jobs.get(job_id)
    assert row is not None
    return row.user_id


def test_the_next_job_goes_to_an_idle_worker_before_a_busy_one() -> None:
    world = fair_world(TierPolicy())
    world.service.queue.seat("w1", 1, {"": (0,)})
    world.service.queue.seat("w2", 1, {"": (1,)})
    [first, second] = ask(world, "alice", images=2)
    assert world.service.dispatcher.execute(room=1) == 1
    world.service.worker.claim.worker_id = "w1"
    world.service.worker.claim.start(first, dispatched_only=True)  # w1 is busy with it now
    assert world.service.dispatcher.execute() == 1
    with world.store.unit_of_work() as uow:
        job = uow.jobs.get(second)
        assert uow.queue.running_by_worker() == {"w1": 1}
    assert job is not None and job.dispatched_to == "w2"


def test_an_operator_set_tier_wins_over_the_tokens() -> None:
    world = fair_world(TWO_TIERS)
    world.service.tokens.set_tier("alice", "pro")
    [job] = ask(world, "alice", tier="free")
    with world.store.unit_of_work() as uow:
        row = uow.jobs.get(job)
        assert row is not None and row.tier == "pro"
        account = uow.accounts.get("alice")
        assert account is not None and account.tier == "pro"
    world.service.tokens.set_tier("alice", None)
    [later] = ask(world, "alice", tier="free")
    with world.store.unit_of_work() as uow:
        again = uow.jobs.get(later)
        assert again is not None and again.tier == "free"


def test_users_served_in_one_round_keep_their_turns() -> None:
    world = fair_world(TierPolicy((Tier("standard", max_queued=100),)))
    for user in ("a", "b", "c"):
        ask(world, user, images=4)
        ask(world, user, images=4)
    served: list[str] = []
    for _ in range(8):  # rounds of two free slots each
        assert world.service.dispatcher.execute(room=2) == 2
        with world.store.unit_of_work() as uow:
            sent = sorted(uow.queue.dispatched(10), key=lambda j: j.dispatched_at or j.created_at)
        served += [job.user_id for job in sent]
        for job in sent:
            world.service.process(job.id)
        world.clock.advance(seconds=1)
    assert {user: served.count(user) for user in "abc"} == {"a": 6, "b": 5, "c": 5}  # turns, not ids
    rounds = [set(served[i : i + 2]) for i in range(0, 6, 2)]
    assert rounds == [{"a", "b"}, {"a", "c"}, {"b", "c"}]  # a, b | c, a | b, c: each in turn


def test_a_pause_waits_for_the_round_in_progress() -> None:
    import threading

    world = fair_world(TierPolicy())
    ask(world, "alice")
    paused = threading.Event()

    def pause() -> None:
        world.service.queue.pause()
        paused.set()

    with world.store.unit_of_work() as uow:
        uow.queue.lock()  # a round holds the queue
        pausing = threading.Thread(target=pause)
        pausing.start()
        assert not paused.wait(0.3)  # the pause waits for it
    assert paused.wait(5)
    pausing.join(5)
    assert world.service.dispatcher.execute(room=1) == 0  # and the next round sees it
