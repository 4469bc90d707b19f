"""Several models through the real use cases on the in-memory adapters: a request names one of
the models offered (or gets the style's preferred one, else the default), an unknown one is
refused with the names offered, a remix keeps its model while it is offered, and the
dispatcher hands each job only to a worker that serves its model."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.application import GenerateImage
from nexus_image.application.ports import OfferedModel
from nexus_image.domain import GenerationDispatched
from nexus_image.domain.errors import UnknownModel
from nexus_image.testing import MemoryStore
from tests.support.driver import Fakes


@dataclass
class Offer:
    """The ModelCatalog port: the names offered, the first one the default."""

    names: list[str] = field(default_factory=lambda: ["alpha", "beta"])

    def offered(self) -> list[OfferedModel]:
        return [OfferedModel(name, default=index == 0) for index, name in enumerate(self.names)]


def service(offer: Offer, **style_models: str):  # type: ignore[no-untyped-def]
    store = MemoryStore()
    made = Fakes().service(store.unit_of_work, 10_000)
    made.request.models = offer
    made.request.style_models = dict(style_models)
    return made, store


def ask(made, user: str = "alice", **fields: object):  # type: ignore[no-untyped-def]
    return made.request.execute(GenerateImage(user, "a lighthouse", steps=1, **fields))  # type: ignore[arg-type]


def test_a_named_model_is_used_none_named_is_the_default_and_a_style_may_prefer_one() -> None:
    made, _ = service(Offer(["alpha", "beta", "anime-x"]), anime="anime-x", sketch="not-offered")
    assert ask(made, model="beta").parameters.model == "beta"
    assert ask(made, model="  BETA ").parameters.model == "beta"  # names are lower case
    assert ask(made).parameters.model == "alpha"
    assert ask(made, style="anime").parameters.model == "anime-x"
    assert ask(made, style="anime", model="beta").parameters.model == "beta"  # named wins
    assert ask(made, style="sketch").parameters.model == "alpha"  # its preference is not offered


def test_an_unknown_model_is_refused_with_the_names_offered_and_nothing_is_charged() -> None:
    made, _ = service(Offer())
    before = made.tokens.balance("alice").balance
    with pytest.raises(UnknownModel) as refused:
        ask(made, model="gamma")
    assert refused.value.field == "model" and refused.value.allowed == ("alpha", "beta")
    assert "alpha, beta" in refused.value.message
    assert made.tokens.balance("alice").balance == before


@settings(max_examples=40, deadline=None)
@given(
    offered=st.lists(st.sampled_from(["a1", "b2", "c3", "d4"]), min_size=1, max_size=4, unique=True),
    asked=st.one_of(st.none(), st.sampled_from(["a1", "b2", "c3", "d4", "zz"])),
)
def test_every_job_names_an_offered_model_or_the_request_is_refused(
    offered: list[str], asked: str | None
) -> None:
    made, _ = service(Offer(offered))
    if asked is not None and asked not in offered:
        with pytest.raises(UnknownModel) as refused:
            ask(made, model=asked)
        assert refused.value.allowed == tuple(offered)
        return
    assert ask(made, model=asked).parameters.model == (asked if asked is not None else offered[0])


def test_a_remix_keeps_its_model_while_offered_and_takes_the_default_once_it_is_gone() -> None:
    offer = Offer()
    made, _ = service(offer)
    original = ask(made, model="beta")
    again, _ = made.request.remix(original.id, GenerateImage("alice", seed=3))
    assert again[0].parameters.model == "beta"
    offer.names = ["alpha", "gamma"]  # beta was removed
    after, _ = made.request.remix(original.id, GenerateImage("alice", seed=3))
    assert after[0].parameters.model == "alpha"
    with pytest.raises(UnknownModel):
        made.request.remix(original.id, GenerateImage("alice", model="beta"))


def test_each_job_is_dispatched_only_to_a_worker_serving_its_model() -> None:
    made, store = service(Offer(["alpha", "beta", "gamma"]))
    made.queue.seat("w-alpha", 4, {"alpha": (0, 1), "": (0,)})
    made.queue.seat("w-beta", 4, {"beta": (2,), "": (1,)})
    jobs = {ask(made, "alice", model=m).id: m for m in ("alpha", "beta", "alpha", "gamma", "beta")}
    only_gamma = ask(made, "bob", model="gamma").id
    assert made.dispatcher.execute() == 4
    with store.unit_of_work() as uow:
        sent = [r.event for r in uow.outbox.pending(50) if isinstance(r.event, GenerationDispatched)]
        waiting = [job.id for job in uow.queue.oldest_waiting(10)]
        rotation = [u.user_id for u in uow.queue.rotation("standard", 10)]
    assert {e.job_id: (e.worker_id, e.model) for e in sent} == {
        job: ("w-alpha" if model == "alpha" else "w-beta", model)
        for job, model in jobs.items()
        if model != "gamma"
    }
    assert all(e.partition in ({"alpha": (0, 1), "beta": (2,)}[e.model or ""]) for e in sent)
    assert set(waiting) == {only_gamma} | {
        j for j, m in jobs.items() if m == "gamma"
    }  # no worker serves gamma
    assert "bob" in rotation  # still waiting for a gamma worker, not dropped from the rotation
