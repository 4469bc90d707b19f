"""Upscale an image: a new image, its source's parameters with the factor and the upscaler,
queued, charged (by the output's size) and stored like any job, linked to its source."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nexus_image.application.access import visible_job
from nexus_image.application.dto import GenerateImage, ImageView
from nexus_image.application.errors import Conflict
from nexus_image.application.request_generation import RequestGeneration, UpscalerNames
from nexus_image.domain.errors import InvalidValue, UnknownUpscaler
from nexus_image.domain.job import JobStatus
from nexus_image.domain.parameters import (
    LANCZOS_UPSCALER,
    MAX_UPSCALED_SIDE,
    OFFERED_NAME,
    UPSCALE_FACTORS,
)


@dataclass(frozen=True, slots=True)
class UpscaleCommand:
    user_id: str
    image_id: str
    factor: int = 2
    upscaler: str = LANCZOS_UPSCALER
    is_public: bool = False
    client_key: str | None = None
    tier: str | None = None


@dataclass(slots=True)
class UpscaleImage:
    """The caller's own image, or a public one (another's private image answers as missing),
    finished, enlarged 2 or 4 times by an upscaler offered here, at most MAX_UPSCALED_SIDE a
    side. The new image is the caller's, with its source's prompt and settings."""

    requests: RequestGeneration
    upscalers: UpscalerNames | None = None  # the operator's upscaler models (lanczos is built in)

    def allowed(self) -> tuple[str, ...]:
        return (LANCZOS_UPSCALER, *(self.upscalers() if self.upscalers is not None else ()))

    def execute(
        self, command: UpscaleCommand, audit_detail: str | None = None, limited: bool = False
    ) -> tuple[ImageView, bool]:
        factor = command.factor
        if isinstance(factor, bool) or factor not in UPSCALE_FACTORS:
            allowed = tuple(str(f) for f in UPSCALE_FACTORS)
            raise InvalidValue("factor", f"factor must be one of: {', '.join(allowed)}", allowed)
        name = command.upscaler.strip() if isinstance(command.upscaler, str) else ""
        allowed_names = self.allowed()
        if not OFFERED_NAME.fullmatch(name) or name not in allowed_names:
            raise UnknownUpscaler(
                "upscaler",
                f"unknown upscaler {command.upscaler!r}; allowed: {', '.join(allowed_names)}",
                allowed_names,
            )
        with self.requests.uow_factory() as uow:
            source = visible_job(uow, command.image_id, command.user_id)
        source.ensure_data_kept()  # retention removed its files: nothing to enlarge (410)
        if source.status is not JobStatus.COMPLETED:
            raise Conflict(f"image {source.id} is {source.status.value}: only a finished image is upscaled")
        width, height = source.parameters.output_size
        if max(width, height) * factor > MAX_UPSCALED_SIDE:
            fits = tuple(str(f) for f in UPSCALE_FACTORS if max(width, height) * f <= MAX_UPSCALED_SIDE)
            raise InvalidValue(
                "factor",
                f"{width}x{height} times {factor} is more than {MAX_UPSCALED_SIDE} px a side; "
                f"allowed here: {', '.join(fits) or 'none'}",
                fits,
            )
        parameters = replace(
            source.parameters,
            upscale_of=source.id,
            upscale_factor=factor,
            upscaler=name,
            preset=None,
        )
        request = GenerateImage(
            command.user_id,
            parameters.prompt,
            client_key=command.client_key,
            tier=command.tier,
            is_public=command.is_public,
            companion_id=source.companion_id,
        )
        # what makes two upscale requests the same (an Idempotency-Key replayed)
        same = f"upscale:{source.id}:{factor}:{name}:{command.is_public}"
        views, created = self.requests.submit(
            request, audit_detail, limited, "image.upscale", prepared=parameters, fingerprint=same
        )
        return views[0], created
