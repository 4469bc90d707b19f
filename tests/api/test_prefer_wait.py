"""`Prefer: wait=N` (RFC 7240) on generate, remix and reading an image: the header as the RFC
spells it, and answers that come when the jobs end, or after N seconds with the jobs as they
are. Jobs run when a test says so (`finish_soon`), from another thread, as a worker would."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from nexus_image.entrypoints.http.prefer import wait_preference

from .conftest import Api


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        (["wait=5"], 5),
        (["respond-async, wait=10"], 10),
        (["WAIT=7"], 7),
        (['wait="12"'], 12),
        (["wait = 3"], 3),
        (['handling=lenient; note="a, wait=9", wait=4'], 4),  # a comma inside quotes separates nothing
        (["respond-async", "wait=8"], 8),  # several headers are one list
        (["wait=2, wait=9"], 2),  # the first instance counts
        (["wait=0"], 0),
        (["wait=100"], 60),  # applied as the longest wait
        (["wait=abc"], None),  # invalid: ignored
        (["wait=-1"], None),
        (["wait=1.5"], None),
        (["wait"], None),
        (["return=minimal"], None),
        ([], None),
    ],
)
def test_the_wait_preference_is_read_as_rfc_7240_says(headers: list[str], seconds: int | None) -> None:
    found = wait_preference(*headers)
    assert (found.seconds if found else None) == seconds


def finish_soon(api: Api, within: float = 10.0) -> threading.Thread:
    """Runs the queued jobs as soon as there are some (the request is still waiting)."""

    def run() -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not api.run_jobs():
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_generate_with_wait_answers_with_the_completed_images(api: Api) -> None:
    runner = finish_soon(api)
    response, took = timed(
        lambda: api.request(
            "POST",
            "/images/generate",
            json={"prompt": "a lighthouse", "steps": 2, "num_images": 2},
            headers={"Prefer": "wait=20"},
        )
    )
    runner.join()
    assert response.status_code == 201, response.text
    assert response.headers["Preference-Applied"] == "wait=20"
    body = response.json()
    assert [image["status"] for image in body["images"]] == ["COMPLETED", "COMPLETED"]
    assert body["storage_url"].endswith(f"/api/v1/images/{body['id']}/file")
    assert took < 15


@pytest.mark.parametrize("route", ["generate", "remix"])
def test_a_short_wait_answers_in_progress_after_about_that_long(api: Api, route: str) -> None:
    path = "/images/generate" if route == "generate" else f"/images/{api.completed()['id']}/remix"
    response, took = timed(
        lambda: api.request("POST", path, json={"prompt": "a harbour"}, headers={"Prefer": "wait=1"})
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "QUEUED"  # no worker ran it
    assert response.headers["Preference-Applied"] == "wait=1"
    assert 0.9 <= took < 5


def test_reading_an_image_waits_for_it_and_caps_the_wait_at_60_seconds(api: Api) -> None:
    job = api.generate()["id"]
    runner = finish_soon(api)
    response, took = timed(lambda: api.request("GET", f"/images/{job}", headers={"Prefer": "wait=600"}))
    runner.join()
    assert response.status_code == 200
    assert response.json()["status"] == "COMPLETED"
    assert response.headers["Preference-Applied"] == "wait=60"
    assert took < 15


@pytest.mark.parametrize("prefer", ["wait=soon", "respond-async"])
def test_without_a_valid_wait_the_answer_is_immediate_and_applies_nothing(api: Api, prefer: str) -> None:
    job = api.generate()["id"]
    response, took = timed(lambda: api.request("GET", f"/images/{job}", headers={"Prefer": prefer}))
    assert response.status_code == 200 and response.json()["status"] == "QUEUED"
    assert "Preference-Applied" not in response.headers
    assert took < 0.9


def test_waiting_on_someone_elses_private_image_is_a_404_at_once(api: Api) -> None:
    job = api.generate(user="bob")["id"]
    response, took = timed(lambda: api.request("GET", f"/images/{job}", headers={"Prefer": "wait=30"}))
    assert response.status_code == 404
    assert took < 0.9


def test_with_a_deadline_the_wait_ends_with_a_refunded_expired_job(api: Api) -> None:
    """A chat's request: its image, or EXPIRED and refunded once the deadline passes unstarted."""

    def dispatch_late() -> None:
        """Once the job is queued and its deadline has passed (however long the request took to
        get there), the dispatcher expires it instead of starting it."""
        give_up = time.monotonic() + 15
        while time.monotonic() < give_up:
            with api.worker.deps.uow_factory() as uow:
                waiting = uow.queue.oldest_waiting(1)
            if waiting and waiting[0].deadline_at is not None:
                late = (waiting[0].deadline_at - datetime.now(UTC)).total_seconds() + 0.3
                time.sleep(max(0.0, late))
                break
            time.sleep(0.05)
        api.worker.dispatcher.execute(room=8)
        api.worker.relay.drain()

    before = api.request("GET", "/tokens/balance").json()["balance"]
    thread = threading.Thread(target=dispatch_late, daemon=True)
    thread.start()
    response = api.request(
        "POST",
        "/images/generate",
        json={"prompt": "a kite", "deadline_seconds": 1},
        headers={"Prefer": "wait=20"},
    )
    thread.join()
    assert response.status_code == 201
    assert response.json()["status"] == "EXPIRED"
    assert api.request("GET", "/tokens/balance").json()["balance"] == before


def test_waits_in_flight_do_not_count_as_the_users_event_streams(api: Api) -> None:
    """Eight requests waiting for their images do not use up the user's eight event streams."""
    import anyio

    from nexus_image.domain.events import GenerationStarted
    from nexus_image.entrypoints.http.controllers.events import MAX_STREAMS_PER_USER
    from nexus_image.entrypoints.http.waiting import watching

    feed, queries = api.container.live_feed(), api.container.image_queries()

    async def main() -> None:
        from contextlib import AsyncExitStack

        async with AsyncExitStack() as stack:
            watches = [
                await stack.enter_async_context(watching(feed, queries, "alice"))
                for _ in range(MAX_STREAMS_PER_USER)
            ]
            started = GenerationStarted(
                event_id="e1", job_id="j1", user_id="alice", occurred_at=datetime.now(UTC)
            )
            feed.publish(started)
            for watch in watches:  # every wait is subscribed, and hears the user's events
                assert await watch.subscription.next_batch(1.0) == [started]
            assert feed.subscriber_count("alice") == 0
            stream = feed.subscribe("alice")
            assert feed.subscriber_count("alice") == 1
            stream.close()
        assert feed.subscriber_count("alice") == 0

    anyio.run(main)
