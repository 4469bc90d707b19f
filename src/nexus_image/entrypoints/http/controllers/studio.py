"""The studio page at `/`, its configuration, and the embedded mode's local sign-in."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from msgspec import Struct

from nexus_image.application.access import MAX_UPLOAD_BYTES
from nexus_image.application.service import ImageService
from nexus_image.domain.names import canonical_name
from nexus_image.domain.parameters import (
    DEFAULT_SCHEDULER,
    DEFAULT_STRENGTH,
    MAX_LORA_WEIGHT,
    MAX_LORAS,
    MIN_LORA_WEIGHT,
    Scheduler,
)
from nexus_image.domain.resolution import Pricing, Resolution
from nexus_image.domain.styles import Style, preset_for
from nexus_image.entrypoints.http.auth import PUBLIC
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.inputs import invalid
from nexus_image.entrypoints.http.studio import PAGE

LOCAL_TOKEN_SECONDS = 24 * 3600
USER_LENGTH = 255
NOISE_NOTICE = (
    "No model is configured: images come from a small random network, so they are noise. "
    "Set NEXUS_IMAGE_MODEL to a Stable Diffusion model for real pictures."
)
# The page and its scripts come from this server only; images are object URLs of fetched
# bytes (or presigned S3 links), live events a WebSocket back to this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data: https: http:; connect-src 'self'; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class StudioSetup:
    """What the composition root tells the page: the role, the model, whether this server may
    hand out development tokens (embedded, no database URL, listening on loopback only), and
    what an image costs in each mode (the operator's prices)."""

    mode: str
    model: str | None
    mint: Any = None  # (user_id, ttl_seconds) -> JWT, only where local sign-in is allowed
    pricing: Pricing = field(default_factory=Pricing)

    @property
    def local_sign_in(self) -> bool:
        return self.mint is not None


def from_this_machine(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """A request from a loopback address, addressed to a loopback name, sent by no web page of
    another origin and through no proxy: what a page elsewhere (even one whose name was made to
    point at 127.0.0.1, DNS rebinding) or a local reverse proxy cannot pass."""
    client = connection.client.host if connection.client else ""
    headers = connection.headers
    if not loopback(client) or "forwarded" in headers or "x-forwarded-for" in headers:
        return False
    if not loopback(urlsplit(f"//{headers.get('host', '')}").hostname or ""):
        return False
    origin = headers.get("origin")
    return origin is None or loopback(urlsplit(origin).hostname or "")


async def local_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Before the body is read: elsewhere the route answers exactly like a missing one."""
    setup: StudioSetup = connection.app.state.studio
    if not setup.local_sign_in or not from_this_machine(connection):
        raise NotFoundException()


def loopback(host: str) -> bool:
    """Whether `host` is a loopback address or name (what only this machine can reach)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LocalTokenRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    user: str = "local"


class LocalToken(Struct):
    token: str
    user_id: str
    expires_in: int


def _setup(state: State) -> StudioSetup:
    setup: StudioSetup = state.studio
    return setup


class StudioController(Controller):
    path = "/"
    opt = {PUBLIC: True}
    include_in_schema = False

    @get("/", media_type="text/html")
    async def page(self) -> Response[bytes]:
        """The studio (works offline: everything it loads comes from this server)."""
        return Response(PAGE.read_bytes(), media_type="text/html", headers=PAGE_HEADERS)

    @get("/studio/config", sync_to_thread=True)
    def config(self, state: State, service: ImageService) -> dict[str, Any]:
        """What the page needs before anyone signs in. `prices` is what one image costs per
        mode (text to image, image to image, inpainting) and resolution; `loras` lists the
        operator's adapters as `GET /api/v1/models/loras` does (the page asks that again once
        signed in, for a list changed since). `fields` describes each request parameter, in
        the form's order: the page builds its plain fields from these."""
        setup = _setup(state)
        return {
            "mode": setup.mode,
            "local_sign_in": setup.local_sign_in,
            "model": {
                "configured": setup.model is not None,
                "name": setup.model,
                "notice": None if setup.model is not None else NOISE_NOTICE,
            },
            "styles": [
                {"value": s.value, "steps": preset_for(s).steps, "guidance": preset_for(s).guidance}
                for s in Style
            ],
            "resolutions": [
                {"value": r.value, "width": r.width, "height": r.height, "tokens": r.token_cost}
                for r in Resolution
            ],
            "schedulers": [s.value for s in Scheduler],
            "default_scheduler": DEFAULT_SCHEDULER.value,
            "limits": {
                "prompt_max": 1000,
                "steps_min": 1,
                "steps_max": 100,
                "guidance_min": 1,
                "guidance_max": 20,
                "seed_max": 2**32 - 1,
                "strength_min": 0.05,  # what the page offers; the API takes anything above 0
                "strength_max": 1.0,
                "strength_default": DEFAULT_STRENGTH,
                "upload_max_bytes": MAX_UPLOAD_BYTES,
            },
            "prices": setup.pricing.table(),
            "loras": {
                "loras": [
                    {"name": lora.name, "size": lora.size} for lora in service.lora_catalog.available()
                ],
                "max_per_image": MAX_LORAS,
                "min_weight": MIN_LORA_WEIGHT,
                "max_weight": MAX_LORA_WEIGHT,
            },
            "fields": _field_descriptions(),
        }

    @post(
        "/studio/local-token",
        status_code=200,
        sync_to_thread=True,
        guards=[local_only],
        responses=problems(400, 404),
    )
    def local_token(self, state: State, data: LocalTokenRequest) -> LocalToken:
        """A development token for any user name: only in the embedded mode, on a server that
        listens on loopback, for a caller on this machine; 404 (like any missing route) else."""
        setup = _setup(state)
        user = _user(data.user)
        return LocalToken(
            token=setup.mint(user, LOCAL_TOKEN_SECONDS), user_id=user, expires_in=LOCAL_TOKEN_SECONDS
        )


def _field(name: str, label: str, help: str, kind: str, **given: Any) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": name, "label": label, "help": help, "kind": kind, "min": None, "max": None,
        "min_exclusive": False, "max_length": None, "required": False, "choices": None,
        "default": None, "fallback": None, "group": None, "scope": "image",
    }  # fmt: skip
    return described | given


def _field_descriptions() -> list[dict[str, Any]]:
    """The request's fields as the page builds its form from them, in the form's order.
    Written out by hand for now: to be derived from the parameters' declarations."""
    seed_max = 2**32 - 1
    return [
        _field("prompt", "Prompt", "What the image shows.", "text", required=True, max_length=1000),
        _field("negative_prompt", "Negative prompt", "What to leave out (optional).", "text",
               max_length=1000, default=""),
        _field("style", "Style", "A preset: its steps and guidance unless given.", "choice",
               choices=[s.value for s in Style], default=Style.REALISTIC.value),
        _field("resolution", "Resolution", "Width by height, in pixels.", "choice",
               choices=[r.value for r in Resolution], default=Resolution.SQUARE_512.value),
        _field("seed", "Seed", "The same seed and settings give the same image. Empty: random.",
               "integer", min=0, max=seed_max, fallback="random"),
        _field("steps", "Steps", "Denoising steps, 1 to 100. Empty: the style's default.", "integer",
               min=1, max=100, fallback="style"),
        _field("guidance", "Guidance", "How closely the image follows the prompt, 1 to 20. Empty: "
               "the style's default.", "number", min=1.0, max=20.0, fallback="style"),
        _field("scheduler", "Scheduler", "The sampler that removes the noise step by step.", "choice",
               choices=[s.value for s in Scheduler], default=DEFAULT_SCHEDULER.value),
        _field("variation_seed", "Variation seed", "A second seed whose noise is blended in. Empty: "
               "no variation.", "integer", min=0, max=seed_max, group="variation"),
        _field("variation_strength", "Variation strength", "0 keeps the image as it is, 1 gives the "
               "variation seed's image.", "number", min=0.0, max=1.0, default=0.0, group="variation"),
        _field("init_image_id", "Starting image", "An upload to paint from.", "upload"),
        _field("mask_image_id", "Mask", "Inpainting: white is repainted, black kept.", "upload"),
        _field("strength", "Strength", "How much of the starting image is repainted.", "number",
               min=0.0, max=1.0, min_exclusive=True),
        _field("loras", "LoRA adapters", "Up to 3 adapters, each with a weight from 0 to 2.",
               "adapters", min=MIN_LORA_WEIGHT, max=MAX_LORA_WEIGHT, max_length=MAX_LORAS, default=[]),
        _field("num_images", "Images", "Several images get consecutive seeds (with a variation: "
               "consecutive variation seeds).", "integer", min=1, max=4, default=1, scope="request"),
        _field("is_public", "Public", "Public images appear in the gallery for everyone.", "flag",
               default=False, scope="request"),
        _field("companion_id", "Companion", "The companion the images are made for.", "text",
               max_length=255, scope="request"),
    ]  # fmt: skip


def _style(style: Style) -> dict[str, Any]:
    preset = preset_for(style)
    return {"value": style.value, "steps": preset.steps, "guidance": preset.guidance}


def _resolution(resolution: Resolution) -> dict[str, Any]:
    return {
        "value": resolution.value,
        "width": resolution.width,
        "height": resolution.height,
        "tokens": resolution.token_cost,
    }


def _user(name: str) -> str:
    user = canonical_name(name)
    if not user or len(user) > USER_LENGTH:
        raise invalid("user", f"a user name of 1 to {USER_LENGTH} printable characters")
    return user
