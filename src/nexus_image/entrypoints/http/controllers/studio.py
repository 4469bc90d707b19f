"""The studio page at `/`, its configuration, and the embedded mode's local sign-in."""

from __future__ import annotations

import ipaddress
from dataclasses import MISSING, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from msgspec import Struct

from nexus_image.application.access import MAX_UPLOAD_BYTES
from nexus_image.application.ports import LoraCatalog, ModelCatalog
from nexus_image.application.ports.upscaling import UpscalerCatalog
from nexus_image.domain.fast_modes import FastMode
from nexus_image.domain.names import canonical_name
from nexus_image.domain.parameters import (
    DEFAULT_SCHEDULER,
    DEFAULT_STRENGTH,
    LATENT_UPSCALER,
    MAX_UPSCALED_SIDE,
    UPSCALE_FACTORS,
    Fallback,
    FieldDescription,
    Kind,
    Scheduler,
    parameter_fields,
    request_fields,
)
from nexus_image.domain.resolution import Pricing, Resolution
from nexus_image.domain.styles import Style, preset_for
from nexus_image.entrypoints.http.auth import PUBLIC
from nexus_image.entrypoints.http.controllers.uploads import ModelsResponse, models_view
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.inputs import invalid
from nexus_image.entrypoints.http.studio import PAGE

LOCAL_TOKEN_SECONDS = 24 * 3600
USER_LENGTH = 255
NOISE_NOTICE = (
    "No model is installed: images come from a small random network, so they are noise. "
    "Install one with `nexus-image models pull stable-diffusion-v1-5/stable-diffusion-v1-5 "
    "--variant fp16` (or `models add FILE`): it is used as soon as it is installed."
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

    @get("/studio/models", sync_to_thread=True)
    def models(self, state: State, model_catalog: ModelCatalog | None) -> ModelsResponse:
        """GET /api/v1/models for the page before anyone signs in (nothing in it is anyone's):
        the page polls it while a download runs, and offers the new model once installed."""
        return models_view(model_catalog, state.model_watch)

    @get("/studio/config", sync_to_thread=True)
    def config(
        self,
        state: State,
        lora_catalog: LoraCatalog,
        model_catalog: ModelCatalog | None,
        upscaler_catalog: UpscalerCatalog,
        fast_modes: dict[str, FastMode],
    ) -> dict[str, Any]:
        """What the page needs before anyone signs in. `prices` is what one image costs per
        mode (text to image, image to image, inpainting) and resolution; the field of LoRA
        adapters lists the operator's adapters (the page asks again once signed in, for a list
        changed since). `fields` describes each request parameter, in
        the form's order: the page builds its plain fields from these."""
        setup = _setup(state)
        models = models_view(model_catalog, state.model_watch)
        default = next((m for m in models.models if m.default), None)
        real = default is not None and not default.random
        return {
            "mode": setup.mode,
            "local_sign_in": setup.local_sign_in,
            "model": {
                "configured": real,
                "name": default.name if default is not None else None,
                "notice": None if real else NOISE_NOTICE,
            },
            "models": msgspec.to_builtins(models),
            "styles": [_style(s) for s in Style],
            "resolutions": [_resolution(r) for r in Resolution],
            "schedulers": [s.value for s in Scheduler],
            "default_scheduler": DEFAULT_SCHEDULER.value,
            "limits": {
                "strength_min": 0.05,  # what the page offers; the API takes anything above 0
                "strength_max": 1.0,
                "strength_default": DEFAULT_STRENGTH,
                "upload_max_bytes": MAX_UPLOAD_BYTES,
            },
            "prices": setup.pricing.table(),
            **{
                d.name: _adapters(d, lora_catalog)
                for d in parameter_fields()
                if d.param.kind is Kind.ADAPTERS
            },
            "fields": [describe(d) for d in request_fields()],
            # what a field of kind "name" offers, by its `offered_by`
            "upscalers": [LATENT_UPSCALER, *(u.name for u in upscaler_catalog.available())],
            "fast_modes": [mode.describe() for mode in fast_modes.values()],
            "upscale": {
                "factors": list(UPSCALE_FACTORS),
                "max_side": MAX_UPSCALED_SIDE,
                "price_per_megapixel": setup.pricing.upscale_per_megapixel,
            },
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


def describe(description: FieldDescription) -> dict[str, Any]:
    """One request field as the page builds its form from it: what the declaration says."""
    param = description.param
    default = None if description.default is MISSING else description.default
    return {
        "name": description.name,
        "label": param.label,
        "help": param.help,
        "kind": param.kind.value,
        "min": param.low,
        "max": param.high,
        "min_exclusive": param.above_low,
        "max_length": param.max_length,
        "required": param.required,
        "choices": None if param.choices is None else [choice.value for choice in param.choices],
        "default": list(default) if isinstance(default, tuple) else default,
        "fallback": None if param.fallback is None else param.fallback.value,
        "group": param.group,
        "offered_by": param.offered_by,
        "search": param.search,  # the search filter on this field (the search form's control)
        "scope": "request" if description.per_request else "image",
    }


def _adapter_fields() -> list[FieldDescription]:
    return [d for d in parameter_fields() if d.param.kind is Kind.ADAPTERS]


def _adapters(description: FieldDescription, catalog: LoraCatalog) -> dict[str, Any]:
    """The adapters a field of LoRA adapters may name (as the API's list of adapters shows
    them) and its bounds."""
    param = description.param
    offered = [{"name": a.name, "size": a.size} for a in catalog.available()]
    return {
        description.name: offered,
        "max_per_image": param.max_length,
        "min_weight": param.low,
        "max_weight": param.high,
    }


def _style(style: Style) -> dict[str, Any]:
    """A style and the values it gives the fields that fall back to it."""
    preset = preset_for(style)
    taken = [d.name for d in parameter_fields() if d.param.fallback is Fallback.STYLE]
    return {"value": style.value, **{name: getattr(preset, name) for name in taken}}


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
