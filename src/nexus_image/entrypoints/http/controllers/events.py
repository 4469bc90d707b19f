"""Live job events for the caller: Server-Sent Events at /events, the same over a WebSocket at
/ws. Events reach this process from its own workers or, in a distributed deployment, from the
broker (every replica reads every event), so a stream sees its user's jobs wherever they were
submitted and run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.response import ServerSentEvent, ServerSentEventMessage

from nexus_image.application.dto import ImageView
from nexus_image.application.errors import NotFound, RateLimitExceeded
from nexus_image.application.images import ImageQueries
from nexus_image.application.ports import LiveEventFeed, LiveSubscription
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationExpired,
    GenerationFailed,
    GenerationProgress,
    GenerationRequested,
    GenerationStarted,
)
from nexus_image.domain.service_key import InvalidApiKey, Scope, may_act_for_others, user_name
from nexus_image.entrypoints.http.auth import PUBLIC, identify
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.errors import RateLimited
from nexus_image.entrypoints.http.security import InvalidToken

HEARTBEAT_SECONDS = 15.0
MAX_STREAMS_PER_USER = 8
RESUME_WINDOW = timedelta(minutes=15)  # a reconnecting client hears of jobs finished this recently
AUTH_TIMEOUT_SECONDS = 10.0
CLOSE_MALFORMED = 4400  # WebSocket close codes 4000-4999 are the application's own
CLOSE_UNAUTHORIZED = 4401
MAX_AUTH_MESSAGE = 4096  # characters of the first message (the server reads at most 64 KiB a frame)
CLOSE_TOO_MANY = 4429

Message = tuple[str, dict[str, Any], str | None]
"""(event name, JSON body, event id): one client message, whatever carries it."""


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def client_view(event: DomainEvent) -> Message | None:
    """The client's view of an event: its job, the new status and what goes with it. Storage
    keys and internal fields stay inside."""
    body: dict[str, Any] = {"job_id": event.job_id, "occurred_at": _utc(event.occurred_at)}
    match event:
        case GenerationRequested():
            name, body["status"], body["tokens_cost"] = "queued", "QUEUED", event.tokens_cost
        case GenerationStarted():
            name, body["status"], body["attempt"] = "processing", "PROCESSING", event.attempt
            body.update(step=0, total_steps=None)
        case GenerationProgress():
            name, body["status"] = "processing", "PROCESSING"
            body.update(step=event.step, total_steps=event.total_steps)
            if event.preview:
                body["preview"] = f"data:image/webp;base64,{event.preview}"
        case GenerationCompleted():
            name, body["status"] = "completed", "COMPLETED"
            body.update(image_url=f"/api/v1/images/{event.job_id}", duration_seconds=event.duration_seconds)
        case GenerationFailed():
            name, body["status"] = "failed", "FAILED"
            body.update(reason=event.reason, refunded=event.refunded)
        case GenerationCancelled():
            name, body["status"], body["refunded"] = "cancelled", "CANCELLED", event.refunded
        case GenerationExpired():
            name, body["status"], body["refunded"] = "expired", "EXPIRED", event.refunded
        case _:
            return None
    return name, body, event.event_id


def message(event: DomainEvent) -> ServerSentEventMessage | None:
    view = client_view(event)
    if view is None:
        return None
    name, body, event_id = view
    return ServerSentEventMessage(data=json.dumps(body), event=name, id=event_id)


def snapshot(view: ImageView) -> Message:
    """Where a job stands now, for a client that reconnects (`snapshot: true`, no event id)."""
    name = "processing" if view.status == "PROCESSING" else str(view.status).lower()
    if name not in InOrder.RANK:
        name = "queued"
    body: dict[str, Any] = {"job_id": view.id, "status": str(view.status), "snapshot": True}
    if view.status == "QUEUED":
        body.update(queue_position=view.queue_position, eta_seconds=view.eta_seconds)
    elif view.status == "COMPLETED":
        body["image_url"] = f"/api/v1/images/{view.id}"
    elif view.status == "FAILED":
        body["reason"] = view.failure_reason
    moment = view.completed_at or view.started_at or view.created_at
    body["occurred_at"] = _utc(moment)
    return name, body, None


class InOrder:
    """Events reach the stream by two roads (progress directly from the worker, state changes
    through the outbox relay), so a `queued` or `processing` can arrive after a later step of
    the same job; such stale events are dropped, and a job is forgotten once it finished."""

    RANK = {"queued": 0, "processing": 1, "completed": 2, "failed": 2, "cancelled": 2, "expired": 2}

    def __init__(self) -> None:
        self.reached: dict[str, int] = {}

    def admit(self, job_id: str, name: str) -> bool:
        rank = self.RANK[name]
        if self.reached.get(job_id, -1) > rank:
            return False
        if rank == 2:
            self.reached.pop(job_id, None)
        else:
            self.reached[job_id] = rank
        return True


async def _with_place(queries: ImageQueries, user: str, msg: Message) -> Message:
    """A `queued` event carries the job's place in the queue and the estimate, as read now."""
    name, body, event_id = msg
    if name == "queued" and "queue_position" not in body:
        try:
            position, eta = await anyio.to_thread.run_sync(queries.queue_status, user, body["job_id"])
        except NotFound:
            position = eta = None
        body = {**body, "queue_position": position, "eta_seconds": eta}
    return name, body, event_id


async def live_messages(
    subscription: LiveSubscription, queries: ImageQueries, user: str, resume: bool
) -> AsyncIterator[Message | None]:
    """The caller's messages, in order; None when nothing happened for a heartbeat. With
    `resume`, the current state of the caller's unfinished (and lately finished) jobs first.
    The subscription is made by the caller before it tells the client it is connected, so no
    event of a job submitted after that can be missed; it is closed here."""
    order = InOrder()
    try:
        if resume:
            since = datetime.now(UTC) - RESUME_WINDOW
            for view in await anyio.to_thread.run_sync(queries.live_state, user, since):
                msg = snapshot(view)
                if order.admit(view.id, msg[0]):
                    yield msg
        while True:
            batch = await subscription.next_batch(HEARTBEAT_SECONDS)
            if not batch:
                yield None
            for event in batch:
                live = client_view(event) if event.user_id == user else None
                if live is not None and order.admit(event.job_id, live[0]):
                    yield await _with_place(queries, user, live)
    finally:
        subscription.close()


async def sse(
    feed: LiveEventFeed, queries: ImageQueries, user: str, resume: bool
) -> AsyncIterator[ServerSentEventMessage]:
    subscription = feed.subscribe(user)
    yield ServerSentEventMessage(data=None, comment="connected", retry=3000)
    async for msg in live_messages(subscription, queries, user, resume):
        if msg is None:
            yield ServerSentEventMessage(data=None, comment="keep-alive")
        else:
            name, body, event_id = msg
            yield ServerSentEventMessage(data=json.dumps(body), event=name, id=event_id)


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a WebSocket is closed before it streams: its close code and reason."""

    code: int
    reason: str


MALFORMED = Refused(
    CLOSE_MALFORMED, 'send {"type": "auth", "token": "..."} first, as JSON text of at most 4 KiB'
)
UNAUTHORIZED = Refused(CLOSE_UNAUTHORIZED, "a valid token is required")


async def _first_message(socket: WebSocket[Any, Any, Any]) -> Any:
    """The first message as JSON, read within AUTH_TIMEOUT_SECONDS; a Refused when it does not
    come, is binary, longer than MAX_AUTH_MESSAGE or not JSON (deep nesting included)."""
    try:
        with anyio.fail_after(AUTH_TIMEOUT_SECONDS):
            event = await socket.receive()
    except TimeoutError:
        return UNAUTHORIZED
    if event["type"] != "websocket.receive":
        return UNAUTHORIZED  # gone already
    text = event.get("text")
    if not isinstance(text, str) or len(text) > MAX_AUTH_MESSAGE:
        return MALFORMED
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return MALFORMED


async def _authenticate(socket: WebSocket[Any, Any, Any]) -> tuple[str, bool] | Refused:
    """The first message must be `{"type": "auth", "token": "<JWT or service key>"}` (browsers
    cannot set headers on a WebSocket, and a token in the URL ends up in logs), with
    `"on_behalf_of"` for a key that may act for others: (user, resume), or why not."""
    try:
        first = await _first_message(socket)
    except WebSocketDisconnect:
        return UNAUTHORIZED
    if isinstance(first, Refused):
        return first
    if not isinstance(first, dict) or first.get("type") != "auth" or not isinstance(first.get("token"), str):
        return MALFORMED
    try:
        caller = await identify(socket.app, first["token"])
        named = first.get("on_behalf_of")
        user = user_name(named) if isinstance(named, str) else caller.user
    except (InvalidToken, InvalidApiKey, RateLimitExceeded, InvalidValue):
        return UNAUTHORIZED
    if Scope.IMAGES_READ not in caller.scopes or (
        user != caller.user and not may_act_for_others(caller.scopes)
    ):
        return UNAUTHORIZED
    return user, bool(first.get("last_event_id"))


class EventsController(Controller):
    path = "/"
    tags = ["events"]

    @get(
        "/events",
        summary="Live events of the caller's jobs (Server-Sent Events)",
        media_type="text/event-stream",
        responses=problems(429),
        opt={"long_lived": True},
    )
    async def events(
        self, request: Request[Any, Any, Any], user: str, broadcaster: LiveEventFeed, queries: ImageQueries
    ) -> ServerSentEvent:
        """One `event:` per change of one of the caller's jobs — `queued` (with `queue_position`
        and `eta_seconds`), `processing` (with `step` and `total_steps`), `completed`, `failed`,
        `cancelled` — with a JSON `data` line. Only the caller's own jobs; a comment line every
        15 s keeps proxies from closing it. Reconnecting with `Last-Event-ID` first sends the
        current state of the caller's unfinished jobs (and of those finished in the last 15
        minutes), marked `"snapshot": true`, so nothing is missed."""
        if broadcaster.subscriber_count(user) >= MAX_STREAMS_PER_USER:
            raise RateLimited(retry_after=int(HEARTBEAT_SECONDS))
        resume = bool(request.headers.get("last-event-id"))
        return ServerSentEvent(sse(broadcaster, queries, user, resume))

    @websocket("/ws", opt={PUBLIC: True, "long_lived": True})
    async def ws(
        self, socket: WebSocket[Any, Any, Any], broadcaster: LiveEventFeed, queries: ImageQueries
    ) -> None:
        """The same events as /events over a WebSocket. Send `{"type": "auth", "token": JWT}`
        (or a service key, with `"on_behalf_of": user` for a key that may act for others)
        first (optionally `"last_event_id"` to get the snapshot); then the server sends
        `{"type": "event", "event": name, "id": id, "data": {...}}` and a `{"type": "ping"}` every
        15 s. A first message that is not such JSON text (binary, over 4 KiB, malformed) closes
        with code 4400, a missing or bad token with 4401, too many streams with 4429."""
        await socket.accept()
        authenticated = await _authenticate(socket)
        if isinstance(authenticated, Refused):
            await socket.close(code=authenticated.code, reason=authenticated.reason)
            return
        user, resume = authenticated
        if broadcaster.subscriber_count(user) >= MAX_STREAMS_PER_USER:
            await socket.close(code=CLOSE_TOO_MANY, reason="too many event streams")
            return
        subscription = broadcaster.subscribe(user)
        try:
            await socket.send_json({"type": "connected", "user_id": user})
        except WebSocketDisconnect:
            subscription.close()
            return
        async with anyio.create_task_group() as tasks:

            async def until_closed() -> None:
                """Whatever the client sends now is ignored; its leaving ends the stream at once."""
                try:
                    while True:
                        await socket.receive_data("text")
                except (WebSocketDisconnect, RuntimeError):
                    tasks.cancel_scope.cancel()

            tasks.start_soon(until_closed)
            try:
                async for msg in live_messages(subscription, queries, user, resume):
                    if msg is None:
                        await socket.send_json({"type": "ping"})
                    else:
                        name, body, event_id = msg
                        await socket.send_json({"type": "event", "event": name, "id": event_id, "data": body})
            except (WebSocketDisconnect, anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass
            tasks.cancel_scope.cancel()
