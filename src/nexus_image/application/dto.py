"""Commands in, views out: frozen dataclasses at the application boundary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from nexus_image.application.process_outcome import ProcessOutcome as ProcessOutcome  # its home
from nexus_image.domain.album import Album
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.parameters import (
    GenerationParameters,
    RequestOptions,
    names_of,
    option_fields,
    parameter_fields,
    request_fields,
)
from nexus_image.domain.safety import OutputSafety


class GenerateImage:
    """A generation request as the caller spells it: whose it is, the declared request fields
    by name (`GenerationParameters`' and `RequestOptions`': names or the domain's enums, None
    or absent for the default), checked by the use case, the caller's idempotency key, and the
    tier the caller's credentials name (None: the account's, else the default one)."""

    __slots__ = ("client_key", "given", "tier", "user_id")

    user_id: str
    client_key: str | None
    tier: str | None
    given: Mapping[str, object]

    def __init__(
        self,
        user_id: str,
        prompt: str | None = None,
        *,
        client_key: str | None = None,
        tier: str | None = None,
        **fields: object,
    ) -> None:
        names = names_of(request_fields())
        unknown = sorted(set(fields) - names)
        if unknown:
            raise TypeError(f"GenerateImage got an unknown field {unknown[0]!r}")
        given = {k: v for k, v in fields.items() if v is not None}
        if prompt is not None:
            given["prompt"] = prompt
        object.__setattr__(self, "user_id", user_id)
        object.__setattr__(self, "client_key", client_key)
        object.__setattr__(self, "tier", tier)
        object.__setattr__(self, "given", MappingProxyType(given))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("GenerateImage is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("GenerateImage is immutable")

    def __reduce__(self) -> tuple[object, ...]:
        """Copies and pickles rebuild it from its parts."""
        return (_rebuilt, (self.user_id, self.client_key, dict(self.given), self.tier))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenerateImage):
            return NotImplemented
        return (self.user_id, self.client_key, self.tier, dict(self.given)) == (
            other.user_id,
            other.client_key,
            other.tier,
            dict(other.given),
        )

    def __hash__(self) -> int:
        return hash((self.user_id, self.client_key, tuple(sorted(map(str, self.given)))))

    def __repr__(self) -> str:
        parts = [f"user_id={self.user_id!r}", *(f"{k}={v!r}" for k, v in self.given.items())]
        return f"GenerateImage({', '.join(parts)}, client_key={self.client_key!r})"

    def image_fields(self) -> dict[str, object]:
        """What was given of one image's parameters (`GenerationParameters.create` checks it)."""
        names = names_of(parameter_fields())
        return {k: v for k, v in self.given.items() if k in names}

    def options(self) -> RequestOptions:
        """The request's options, checked."""
        names = names_of(option_fields())
        return RequestOptions.create(**{k: v for k, v in self.given.items() if k in names})

    def replaced(self, **fields: object) -> GenerateImage:
        merged: dict[str, Any] = {**self.given, **fields}
        return GenerateImage(self.user_id, client_key=self.client_key, tier=self.tier, **merged)


def _rebuilt(
    user_id: str, client_key: str | None, given: dict[str, Any], tier: str | None = None
) -> GenerateImage:
    return GenerateImage(user_id, client_key=client_key, tier=tier, **given)


@dataclass(frozen=True, slots=True)
class ImageView:
    """A job as its owner (or, once public, anyone) sees it. The generation parameters stay
    one `GenerationParameters`, carried whole."""

    id: str
    user_id: str
    parameters: GenerationParameters
    status: JobStatus
    tokens_cost: int
    is_public: bool
    companion_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    failure_reason: str | None
    storage_url: str | None
    thumbnail_url: str | None
    is_favorite: bool = False
    queue_position: int | None = None  # 1 = next; None once started
    eta_seconds: int | None = None  # estimated seconds until it is ready, while QUEUED
    safety: OutputSafety | None = None  # the output check's findings; None: not checked
    group_id: str | None = None  # the images of one request for several share it
    deadline_at: datetime | None = None  # not started by then: EXPIRED (refunded)
    # Retention: when its tier's retention removes it (None: kept forever; an image its owner
    # favorited, put in an album or made public is kept past it, where the operator keeps those),
    # and when its files were removed (then it has no URLs, and its content answers 410 Gone).
    expires_at: datetime | None = None
    data_removed_at: datetime | None = None

    @classmethod
    def of(
        cls,
        job: ImageJob,
        storage_url: str | None = None,
        thumbnail_url: str | None = None,
        is_favorite: bool = False,
        expires_at: datetime | None = None,
    ) -> ImageView:
        return cls(
            id=job.id,
            user_id=job.user_id,
            parameters=job.parameters,
            status=job.status,
            tokens_cost=job.tokens_cost,
            is_public=job.is_public,
            companion_id=job.companion_id,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            failure_reason=job.failure_reason,
            storage_url=storage_url,
            thumbnail_url=thumbnail_url,
            is_favorite=is_favorite,
            safety=job.safety,
            group_id=job.group_id,
            deadline_at=job.deadline_at,
            expires_at=expires_at,
            data_removed_at=job.data_removed_at,
        )

    @property
    def width(self) -> int:
        """The delivered image's (a hires fix's or an upscale's size, else the resolution's)."""
        return self.parameters.output_size[0]

    @property
    def height(self) -> int:
        return self.parameters.output_size[1]


@dataclass(frozen=True, slots=True)
class AlbumView:
    id: str
    owner_id: str
    name: str
    created_at: datetime
    image_count: int

    @classmethod
    def of(cls, album: Album) -> AlbumView:
        return cls(album.id, album.owner_id, album.name, album.created_at, len(album.image_ids))
