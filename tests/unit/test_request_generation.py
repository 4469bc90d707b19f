"""Requesting a generation: moderation, pricing, the debit, the job and its event, together."""

from __future__ import annotations

import dataclasses

import pytest

from nexus_image.application import GenerateImage, IdempotencyConflict, PromptRejected
from nexus_image.domain import GenerationRequested, InsufficientTokens, UnsupportedResolution

from .conftest import World, make_world


def test_request_charges_the_price_and_queues_with_an_event(world: World) -> None:
    job = world.request(resolution="1024x1024", seed=42, style="anime", is_public=True, companion_id="c-1")
    assert (job.status, job.tokens_cost, job.parameters.seed, job.parameters.style) == (
        "QUEUED",
        20,
        42,
        "anime",
    )
    assert world.balance() == 80
    assert world.ledger_sum() == 80
    pending = world.store.unit_of_work().outbox.pending(10)
    assert [type(r.event) for r in pending] == [GenerationRequested]
    assert pending[0].event.job_id == job.id
    assert isinstance(pending[0].event, GenerationRequested)
    assert pending[0].event.parameters["seed"] == 42


def test_seed_is_chosen_and_recorded_when_absent(world: World) -> None:
    job = world.request()
    assert job.parameters.seed == 777
    assert world.service.get_image("alice", job.id).parameters.seed == 777


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"resolution": "500x500"}, UnsupportedResolution),
        ({"prompt": "a n-u-d-e portrait"}, PromptRejected),
        ({"resolution": "1024x1536", "user": "poor"}, InsufficientTokens),
    ],
)
def test_refused_requests_charge_nothing_and_queue_nothing(kwargs: dict[str, object], error: type) -> None:
    world = make_world(welcome_grant=20)
    user = str(kwargs.pop("user", "alice"))
    with pytest.raises(error):
        world.request(user=user, **kwargs)
    assert world.balance(user) == 20
    assert world.store.jobs == {}
    assert world.store.outbox == []


def test_moderation_says_which_category_matched(world: World) -> None:
    with pytest.raises(PromptRejected) as caught:
        world.request(prompt="G0RE everywhere")
    assert caught.value.category == "violence"


def test_same_client_key_gives_one_job_and_one_charge(world: World) -> None:
    first = world.request(client_key="k-1", seed=5)
    again = world.request(client_key="k-1", seed=5)
    assert first.id == again.id
    assert len(world.store.jobs) == 1
    assert world.balance() == 95
    other_user = world.request(user="bob", client_key="k-1", seed=5)
    assert other_user.id != first.id  # keys are per user


def test_reusing_a_key_for_another_request_is_a_conflict(world: World) -> None:
    world.request(client_key="k-1", seed=5)
    with pytest.raises(IdempotencyConflict):
        world.request(client_key="k-1", seed=6)
    assert world.balance() == 95


def test_balance_runs_out_exactly(world: World) -> None:
    for _ in range(20):
        world.request()
    with pytest.raises(InsufficientTokens):
        world.request()
    assert world.balance() == 0
    assert len(world.store.jobs) == 20


def test_a_key_recorded_before_the_one_declaration_still_replays(world: World) -> None:
    """Keys stored by the previous version hold its fingerprint: every field of the command,
    absent ones as None except style, resolution, is_public and num_images."""
    import hashlib
    import json

    submit = world.service.request.submit
    views, _ = submit(GenerateImage("alice", "a fox", seed=5, client_key="k"))
    previous: dict[str, object] = {
        "user_id": "alice", "prompt": "a fox", "negative_prompt": None, "style": "realistic",
        "resolution": "512x512", "seed": 5, "steps": None, "guidance": None, "scheduler": None,
        "companion_id": None, "is_public": False, "variation_seed": None, "variation_strength": None,
        "num_images": 1, "init_image_id": None, "mask_image_id": None, "strength": None, "loras": [],
    }  # fmt: skip
    job_id, _, at = world.store.idempotency[("alice", "k")]
    old = hashlib.sha256(json.dumps(previous, sort_keys=True).encode()).hexdigest()
    world.store.idempotency[("alice", "k")] = (job_id, old, at)
    balance = world.balance()
    for again in (
        GenerateImage("alice", "a fox", seed=5, client_key="k"),
        # as an HTTP body spells it now: every default named
        GenerateImage(
            "alice",
            "a fox",
            seed=5,
            scheduler="dpmpp_2m_karras",
            variation_strength=0.0,
            style="realistic",
            is_public=False,
            num_images=1,
            client_key="k",
        ),
    ):
        replayed, created = submit(again)
        assert (replayed[0].id, created) == (views[0].id, False)
    assert world.balance() == balance
    with pytest.raises(IdempotencyConflict):
        submit(GenerateImage("alice", "a fox", seed=6, client_key="k"))


def test_a_key_recorded_by_the_first_request_shape_still_replays_and_a_later_field_is_another_request(
    world: World,
) -> None:
    """Keys stored before `deadline_seconds` existed hold every field of the first shape, at
    its default (None where it has none); the same request replays, one with a deadline is new."""
    import hashlib
    import json

    from nexus_image.domain.parameters import request_fields

    submit = world.service.request.submit
    views, _ = submit(GenerateImage("alice", "a fox", seed=5, client_key="k"))
    shape: dict[str, object] = {"user_id": "alice"}
    for description in request_fields():
        if description.param.since == 1:
            default = None if description.default is dataclasses.MISSING else description.default
            shape[description.name] = {"prompt": "a fox", "seed": 5, "loras": []}.get(
                description.name, default
            )
    job_id, _, at = world.store.idempotency[("alice", "k")]
    old = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()
    world.store.idempotency[("alice", "k")] = (job_id, old, at)
    replayed, created = submit(GenerateImage("alice", "a fox", seed=5, client_key="k"))
    assert (replayed[0].id, created) == (views[0].id, False)
    with pytest.raises(IdempotencyConflict):
        submit(GenerateImage("alice", "a fox", seed=5, deadline_seconds=30, client_key="k"))
