"""Waiting for jobs to end, for `Prefer: wait=N` and the OpenAI-compatible routes.

The caller's live feed is subscribed *before* the jobs are submitted (or, for a job that
exists, before it is read), so no event can slip between the two; in a distributed deployment
every replica's feed hears every job's events, so any replica can wait on any job. Events can
still be lost (a feed reconnecting, a full buffer): the jobs are re-read from the database every
`RECHECK_SECONDS` as well, and the answer is always what the database says at the end."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from litestar import Request

from nexus_image.application.dto import ImageView
from nexus_image.application.images import ImageQueries
from nexus_image.application.ports import LiveEventFeed, LiveSubscription
from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationExpired,
    GenerationFailed,
)
from nexus_image.entrypoints.http.prefer import WaitPreference, wait_preference

RECHECK_SECONDS = 2.0
ENDED = (GenerationCompleted, GenerationFailed, GenerationCancelled, GenerationExpired)


def requested_wait(request: Request[Any, Any, Any]) -> WaitPreference | None:
    """The `wait` preference of every `Prefer` header the request carries."""
    return wait_preference(*request.headers.getall("prefer", []))


class JobWatch:
    """One caller's jobs followed through a subscription to their live events."""

    def __init__(self, subscription: LiveSubscription, queries: ImageQueries, user: str) -> None:
        self.subscription = subscription
        self.queries = queries
        self.user = user

    async def read(self, job_ids: Iterable[str]) -> list[ImageView]:
        """The jobs as the database has them now (NotFound for one the caller cannot see)."""
        wanted = list(job_ids)
        return await anyio.to_thread.run_sync(lambda: [self.queries.get(self.user, j) for j in wanted])

    async def events(self, job_ids: Iterable[str], seconds: float) -> AsyncIterator[DomainEvent]:
        """The jobs' events as they arrive, until every job has ended (by its event or by a
        re-read) or `seconds` have passed."""
        pending = set(job_ids)
        deadline = time.monotonic() + seconds
        recheck = time.monotonic() + RECHECK_SECONDS
        while pending:
            now = time.monotonic()
            if now >= deadline:
                return
            if now >= recheck:
                pending -= {v.id for v in await self.read(sorted(pending)) if v.status.is_terminal}
                recheck = time.monotonic() + RECHECK_SECONDS
                continue
            batch = await self.subscription.next_batch(min(deadline, recheck) - now)
            for event in batch:
                if event.user_id != self.user or event.job_id not in pending:
                    continue
                yield event
                if isinstance(event, ENDED):
                    pending.discard(event.job_id)

    async def until_ended(self, job_ids: list[str], seconds: float) -> list[ImageView]:
        """The jobs once all have ended or `seconds` have passed, re-read, in the order given."""
        async for _ in self.events(job_ids, seconds):
            pass
        return await self.read(job_ids)


@asynccontextmanager
async def watching(feed: LiveEventFeed, queries: ImageQueries, user: str) -> AsyncIterator[JobWatch]:
    """A watch on `user`'s jobs for the block, its subscription closed after it (a wait, not one
    of the user's event streams)."""
    subscription = feed.subscribe(user, stream=False)
    try:
        yield JobWatch(subscription, queries, user)
    finally:
        subscription.close()


async def ended_or_waited(
    feed: LiveEventFeed, queries: ImageQueries, user: str, job_id: str, seconds: float
) -> ImageView:
    """One job, read at once when it has ended (or is not the caller's to see: NotFound), else
    once it ends or `seconds` pass."""
    async with watching(feed, queries, user) as watch:
        (view,) = await watch.read([job_id])
        if view.status.is_terminal or view.user_id != user:
            return view
        (view,) = await watch.until_ended([job_id], seconds)
        return view
