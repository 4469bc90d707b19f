"""A user with something in every table, and scans that find a user's id wherever it is kept
(every table and column of a SQL database, every field of the in-memory store, every key of
object storage): what the erasure tests check their end state with."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from PIL import Image

from nexus_image.application import GenerateImage, ImageService
from nexus_image.application.ports import Clock, ObjectStorage, UnitOfWorkFactory
from nexus_image.application.ports.audit import ACTING_VIA
from nexus_image.application.ports.webhooks import Subscription
from nexus_image.application.presets import ManagePresets
from nexus_image.application.storage_keys import user_folders
from nexus_image.domain.service_key import ServiceKey
from nexus_image.domain.webhooks import (
    SigningSecrets,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from nexus_image.testing import MemoryStore

VICTIM = "erase-me-7f3a"  # distinctive: no other text holds it by chance
OTHER = "keep-me-2c91"
PROMPT = "a red fox in the snow"  # one prompt: the moderator checks it once


class UuidIds:
    def new_id(self) -> str:
        return uuid.uuid4().hex


def small_png(seed: int = 1) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (seed % 255, 90, 160)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class World:
    victim_images: list[str]
    other_images: list[str]
    queued: str  # the victim's job left QUEUED: the erasure cancels it first
    other_album: str


def populate(
    service: ImageService,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    run_queue: Callable[[], object],
    victim: str = VICTIM,
    other: str = OTHER,
) -> World:
    """The victim with images (public, private, one favorited by the other user), an upload, albums, favorites, a preset, an idempotency key, webhooks (endpoint,
    secret, subscription, delivery with an attempt), a service key, a rate-limit log, a place
    in the queue, outbox events and audit rows, some written by an operator about them."""

    def request(user: str, **fields: Any) -> str:
        return service.request_generation(GenerateImage(user, PROMPT, steps=2, **fields)).id

    mine = [request(victim, client_key=f"idem-{victim}"), request(victim)]
    theirs = [request(other)]
    run_queue()
    service.manage.set_visibility(victim, mine[0], True)
    service.manage.set_visibility(other, theirs[0], True)
    service.manage.favorite(victim, theirs[0])
    service.manage.favorite(victim, mine[1])
    service.manage.favorite(other, mine[0])
    holiday = service.albums.create(victim, f"holiday of {victim}")
    service.albums.add_image(victim, holiday.id, mine[0])
    found = service.albums.create(other, f"found {uuid.uuid4().hex[:8]}")
    service.albums.add_image(other, found.id, theirs[0])
    service.uploads.upload(victim, small_png())
    ManagePresets(uow_factory, clock, UuidIds()).create(victim, name=f"style of {victim}", template="a {x}")
    queued = request(victim)

    now = clock.now()
    url = f"https://hooks.example/{victim}"
    delivery = WebhookDelivery(
        f"msg-{uuid.uuid4().hex[:12]}",
        victim,
        mine[1],
        WebhookEvent.COMPLETED.value,
        url,
        None,
        json.dumps({"user_id": victim, "job_id": mine[1]}),
        now,
    )
    with uow_factory() as uow:
        endpoint = WebhookEndpoint(
            uuid.uuid4().hex, victim, url, frozenset({WebhookEvent.COMPLETED}), SigningSecrets("whsec-a"), now
        )
        uow.webhooks.add_endpoint(endpoint)
        uow.webhooks.save_account_secrets(victim, SigningSecrets("whsec-b"))
        uow.webhooks.subscribe(mine[1], Subscription(url, frozenset({WebhookEvent.COMPLETED})))
        uow.webhooks.add_delivery(delivery)
        key = ServiceKey(
            uuid.uuid4().hex[:16], f"bot of {victim}", "0" * 64, victim, frozenset({"images:read"}), now
        )
        uow.service_keys.add(key)
        uow.rate_limits.hits(f"generate:{victim}", time.time())
        uow.rate_limits.keep(f"generate:{victim}", [time.time()], time.time() + 3600)
        uow.commit()
    with uow_factory() as uow:
        delivery.attempts.append(WebhookAttempt(1, now, 500, 12, None, f"no such user {victim}"))
        uow.webhooks.save_delivery(delivery)
        uow.commit()

    service.audit.execute(victim, "image.generate", mine[0], "success", f"request r-1: by {victim}")
    service.audit.execute("operator-1", "operator.job.cancel", mine[1], "success", f"of {victim}, refunded 5")
    service.audit.execute("operator-1", "tokens.grant", f"account:{victim}", "ok", "5 tokens: goodwill")
    token = ACTING_VIA.set(f"key:{key.id} ({key.name})")
    try:
        service.audit.execute(victim, "image.favorite", mine[1], "success")
    finally:
        ACTING_VIA.reset(token)
    return World(mine, theirs, queued, found.id)


# --- where a user's id is still kept ----------------------------------------------------------


def _strings(value: Any, seen: set[int]) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, Enum):
        yield str(value.value)
        return
    if value is None or isinstance(value, int | float | bytes) or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, seen)
            yield from _strings(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, seen)
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name), seen)
    elif hasattr(value, "__dict__"):
        for item in vars(value).values():
            yield from _strings(item, seen)


def memory_naming(store: MemoryStore, user: str) -> list[str]:
    """The fields of the in-memory store (every table) whose text holds `user`."""
    found = []
    for field in dataclasses.fields(store):
        if field.name in ("lock", "queue_lock"):
            continue
        found += [f"{field.name}: {s}" for s in _strings(getattr(store, field.name), set()) if user in s]
    return found


def sql_naming(connection: sa.Connection, user: str) -> list[str]:
    """Every table of the database (as it is, not as the code declares it) and every column,
    read whole: the values whose text holds `user`."""
    schema = sa.MetaData()
    schema.reflect(connection)
    found = []
    for table in schema.sorted_tables:
        for row in connection.execute(sa.select(table)).mappings():
            for column, value in row.items():
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                if user in text:
                    found.append(f"{table.name}.{column}: {text[:120]}")
    return found


def objects_naming(storage: ObjectStorage, user: str, every_key: list[str]) -> list[str]:
    """Keys in the user's folders, and any key anywhere that holds the id."""
    left = [key for folder in user_folders(user) for key in storage.keys(folder, 1000)]
    return left + [key for key in every_key if user in key and key not in left]
