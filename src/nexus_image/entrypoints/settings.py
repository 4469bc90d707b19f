"""Configuration from NEXUS_IMAGE_* environment variables; every value has an embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.fast_modes import FastMode, parse_fast_modes
from nexus_image.domain.parameters import MODEL_NAME
from nexus_image.domain.queue import TierPolicy
from nexus_image.domain.resolution import Pricing
from nexus_image.domain.retention import RetentionPolicy, parse_keeps
from nexus_image.domain.styles import Style
from nexus_image.domain.webhooks import DEFAULT_SCHEDULE, DestinationPolicy, RetrySchedule

EMBEDDED_WELCOME_TOKENS = 100
RELAXABLE_CATEGORIES = frozenset({"sexual"})  # an adult deployment may allow it; never `minors`


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nexus-image"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_IMAGE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    # PostgreSQL connections kept open per process; up to half as many again are opened for a
    # burst and closed after it. Below the number of requests served at once, every burst
    # pays a new server process per request.
    database_pool_size: int = Field(default=20, ge=1, le=1000)
    # An HTTP client has this long to send a request's headers (from connecting, or from the
    # first byte of a next request on a kept-alive connection), and this long between two
    # parts of its body; else the connection is closed (408 for a body).
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    kafka_bootstrap_servers: str | None = None
    kafka_client_config: str | None = None  # JSON object of extra librdkafka settings
    kafka_topic_prefix: str = ""
    kafka_partitions: int = Field(default=6, ge=1)  # for topics the worker creates when missing
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)  # 0 = no metrics endpoint
    # Where a worker's /metrics and /health listen: this machine only, unless told (containers
    # say 0.0.0.0 so that Prometheus and the orchestrator's probes reach them).
    worker_metrics_host: str = "127.0.0.1"
    worker_relay: bool = True  # whether `worker` also relays the outbox to the broker
    s3_endpoint: str | None = None
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "nexus-images"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    s3_presign_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    s3_public_base_url: str | None = None
    s3_public_endpoint: str | None = None  # the S3 host clients reach, when not s3_endpoint
    model: str | None = None  # one model by location (folder, checkpoint file, hub id): the default
    model_config_dir: str | None = Field(default=None, alias="NEXUS_IMAGE_MODEL_CONFIG")
    # Several models: the names offered (an API replica) or served (a worker), comma-separated,
    # each installed with `nexus-image models`; empty: every installed model. The default is
    # the one a request that names none gets (else the store's default); a style may prefer one
    # ("anime=anything-v5,photo=realistic-vision"). Loaded pipelines are kept until they pass
    # the memory budget (least recently used unloaded first).
    models: str = ""
    default_model: str | None = None
    style_models: str = ""
    model_memory_gb: float = Field(default=8.0, gt=0, le=1024)
    # A first run with no model installed offers to pull the starter model from the hub (ask:
    # on a terminal only, once; yes; no), in the background while the studio serves.
    first_run_pull: Literal["ask", "yes", "no"] = "ask"
    starter_model: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    starter_variant: str | None = "fp16"
    device: str | None = None
    dtype: str | None = None
    threads: int | None = Field(default=None, ge=1)
    low_memory: bool | None = None
    # Speed-ups of the denoising run, each on by default only where it pays (CUDA): memory
    # layout, one fused QKV projection per attention, torch.compile of the UNet (and the VAE
    # decoder) with its cache under model_cache_dir, and the resolutions run once at start.
    channels_last: bool | None = None
    fuse_qkv: bool | None = None
    compile: Literal["none", "unet", "unet+vae"] = "none"
    compile_mode: Literal["default", "reduce-overhead", "max-autotune"] = "reduce-overhead"
    warm_up_resolutions: str = ""  # e.g. "512x512,768x768": generated once before the first job
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_max_lifetime_seconds: int = Field(default=30 * 24 * 3600, ge=60)  # tokens living longer are refused
    # The HMAC key of erased users' pseudonyms in the ledger and audit trail (at least 32
    # bytes). Unset: derived from NEXUS_IMAGE_JWT_SECRET when there is one, else made once and
    # kept under the data directory (set it where replicas share no data directory).
    erasure_key: SecretStr | None = None
    public_url: str | None = None  # e.g. https://images.example.com: absolute links; else relative
    # The OpenAI-compatible API answers once the images are done, or cancels them (refunded)
    # after this many seconds (a request's `Prefer: wait=N` sets it for that request).
    openai_wait_seconds: int = Field(default=60, ge=1, le=60)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    embedded_worker: bool = True
    http_workers: int | None = Field(default=None, ge=1, le=64)  # `serve` processes (default 1)
    welcome_tokens: int | None = Field(default=None, ge=0)
    moderation_rules: Path | None = None  # a JSON object of extra terms per category
    moderation_semantic: bool | None = None  # the embeddings layer; default: on where installed
    moderation_semantic_threshold: float = Field(default=0.55, gt=0, le=1)
    moderation_relaxed: str = ""  # comma-separated categories not refused; only `sexual` may be
    image_safety: Literal["auto", "nudenet", "none"] = "auto"  # the output check; auto: where installed
    image_safety_threshold: float = Field(default=0.5, gt=0, le=1)
    block_unsafe_outputs: bool = False  # an image flagged unsafe fails its job (refunded)
    live_previews: bool = True  # `processing` events carry a small WebP of the image so far, ≤ 2/s
    lora_dir: Path | None = None  # the allowed LoRA adapters: NAME.safetensors files
    wildcard_dir: Path | None = None  # dynamic prompts' `__name__` wildcards: NAME.txt files, subfolders too
    upscaler_dir: Path | None = None  # the allowed upscalers: NAME.safetensors or NAME.pth ESRGAN files
    img2img_prices: str = ""  # "512x512=6,1024x1024=25": image to image; unset: as text to image
    inpaint_prices: str = ""  # the same for inpainting
    upscale_price_per_megapixel: float = Field(default=2.0, gt=0, le=1000)  # of the upscaled image
    # few-step modes by name, JSON: {"lcm": {"lora": "lcm-lora-sdv1-5", "scheduler": "lcm",
    # "steps": 4, "guidance": 1.5, "price": 0.5}} (price: a factor of the image's price)
    fast_modes: str = ""
    max_uploads_per_user: int = Field(default=100, ge=1)
    upload_quota_mb: int = Field(default=200, ge=1)  # each user's uploads together
    max_batch: int = Field(default=1, ge=1, le=16)
    batch_wait_seconds: float = Field(default=0.05, ge=0, le=5)
    lease_seconds: int = Field(default=30, ge=2, le=3600)  # a worker renews it while it generates
    max_attempts: int = Field(default=3, ge=1, le=100)  # starts before a job that loses workers fails
    rate_limit_per_minute: int = Field(default=10, ge=1)
    # The fair queue: tiers (JSON: name -> weight, max_queued, max_running), the tier of a user
    # nothing names (default: the first), the JWT claim naming a user's tier, the aging bound
    # (a job waiting longer is served next), and whether this process may be the dispatcher.
    tiers: str = ""
    default_tier: str | None = None
    tier_claim: str = "tier"
    # Operators: a JWT whose role claim (a string or a list) names one of the operator roles
    # (comma separated) may use /api/v1/admin, as a service key with the `admin` scope may.
    operator_role_claim: str = "role"
    operator_roles: str = "admin"
    # What a cancelled job gives back: `full`, or `proportional` to the steps not run (rounded up).
    cancel_refund: Literal["full", "proportional"] = "full"
    max_queue_wait_seconds: float = Field(default=600.0, ge=0, le=7 * 24 * 3600)
    dispatcher: bool = True
    # Retention (each tier's `retention_days` in NEXUS_IMAGE_TIERS): what keeps an image past
    # its tier's retention, comma separated, of `favorite` (its owner's), `album`, `public`.
    retention_keeps: str = "favorite,album,public"
    # Webhooks: the ranges (CIDR, comma separated) a webhook may reach although they are not
    # public (loopback, private, link-local…: refused by default), the retry delays in seconds
    # after each failed attempt, how long a rotated-out secret still signs, and the timeouts.
    webhook_allowed_networks: str = ""
    webhook_retry_schedule: str = ",".join(str(d) for d in DEFAULT_SCHEDULE)
    webhook_secret_grace_seconds: float = Field(default=24 * 3600.0, ge=0, le=30 * 24 * 3600)
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhooks: bool = True  # whether the processes that relay the outbox also send webhooks
    # How often a worker tells watchers how far a job got, and shows a preview (seconds, at
    # most; the first and the last are always told).
    progress_every_seconds: float = Field(default=0.25, ge=0, le=60)
    preview_every_seconds: float = Field(default=0.5, ge=0, le=60)
    cors_origins: str = ""
    log_json: bool | None = None

    @field_validator("warm_up_resolutions")
    @classmethod
    def _resolutions(cls, value: str) -> str:
        for item in (v.strip() for v in value.split(",") if v.strip()):
            width, _, height = item.lower().partition("x")
            if not (width.isdigit() and height.isdigit()) or int(width) % 8 or int(height) % 8:
                raise ValueError(f"{item!r}: want WIDTHxHEIGHT, multiples of 8, comma-separated")
        return value

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        for name in names:
            if not MODEL_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a model name (lower-case letters, digits, '.', '_', '-')")
        return ",".join(names)

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(name for name in self.models.split(",") if name)

    @field_validator("style_models")
    @classmethod
    def _style_models(cls, value: str) -> str:
        pairs = [pair.strip() for pair in value.split(",") if pair.strip()]
        for pair in pairs:
            style, _, model = (part.strip() for part in pair.partition("="))
            if style not in {s.value for s in Style} or not MODEL_NAME.fullmatch(model):
                styles = ", ".join(s.value for s in Style)
                raise ValueError(f"{pair!r}: want STYLE=MODEL, a style of {styles} and a model's name")
        return ",".join(pairs)

    @property
    def preferred_models(self) -> dict[str, str]:
        pairs = (pair.partition("=") for pair in self.style_models.split(",") if pair)
        return {style.strip(): model.strip() for style, _, model in pairs}

    @field_validator("img2img_prices", "inpaint_prices")
    @classmethod
    def _prices(cls, value: str) -> str:
        try:
            Pricing.parse(value, value)
        except InvalidValue as error:
            raise ValueError(error.message) from None
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        DestinationPolicy.parse(value)  # a ValueError names the bad range
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        RetrySchedule.parse(value)
        return value

    @property
    def webhook_destinations(self) -> DestinationPolicy:
        return DestinationPolicy.parse(self.webhook_allowed_networks)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: str) -> str:
        try:
            TierPolicy.parse(value)
        except InvalidValue as error:
            raise ValueError(error.message) from None
        return value

    @field_validator("retention_keeps")
    @classmethod
    def _retention_keeps(cls, value: str) -> str:
        try:
            parse_keeps(value)
        except InvalidValue as error:
            raise ValueError(error.message) from None
        return value

    @property
    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(self.tier_policy, parse_keeps(self.retention_keeps))

    @model_validator(mode="after")
    def _default_tier_is_a_tier(self) -> Settings:
        self.tier_policy  # noqa: B018 - raises for a default tier that is not configured
        return self

    @property
    def tier_policy(self) -> TierPolicy:
        try:
            return TierPolicy.parse(self.tiers, self.default_tier, self.max_queue_wait_seconds)
        except InvalidValue as error:  # a default tier that is not one of the tiers
            raise ValueError(f"NEXUS_IMAGE_DEFAULT_TIER: {error.message}") from None

    @property
    def operator_roles_set(self) -> set[str]:
        return {role.strip() for role in self.operator_roles.split(",") if role.strip()}

    @property
    def pricing(self) -> Pricing:
        return Pricing.parse(self.img2img_prices, self.inpaint_prices, self.upscale_price_per_megapixel)

    @field_validator("fast_modes")
    @classmethod
    def _fast_modes(cls, value: str) -> str:
        try:
            parse_fast_modes(value)
        except InvalidValue as error:
            raise ValueError(error.message) from None
        return value

    @property
    def fast_mode_table(self) -> dict[str, FastMode]:
        return parse_fast_modes(self.fast_modes)

    @field_validator("moderation_relaxed")
    @classmethod
    def _only_sexual_relaxes(cls, value: str) -> str:
        names = {name.strip() for name in value.split(",") if name.strip()}
        if "minors" in names:
            raise ValueError("minors can never be relaxed")
        if names - RELAXABLE_CATEGORIES:
            unknown = sorted(names - RELAXABLE_CATEGORIES)
            raise ValueError(f"only {sorted(RELAXABLE_CATEGORIES)} may be relaxed, not {unknown}")
        return ",".join(sorted(names))

    @property
    def relaxed_categories(self) -> frozenset[str]:
        return frozenset(name for name in self.moderation_relaxed.split(",") if name)

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None

    @property
    def effective_welcome_tokens(self) -> int:
        """Production grants nothing unless told; the embedded laptop mode starts users with 100."""
        if self.welcome_tokens is not None:
            return self.welcome_tokens
        return EMBEDDED_WELCOME_TOKENS if self.is_embedded else 0

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"
