"""Request a generation: moderate, price, debit, create the job and its outbox event at once."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, replace
from datetime import timedelta
from itertools import product
from typing import Any

from nexus_image.application.access import owned_upload, visible_job
from nexus_image.application.dto import GenerateImage, ImageView
from nexus_image.application.errors import (
    IdempotencyConflict,
    IdempotencyKeySpent,
    PromptRejected,
    RateLimitExceeded,
    UserQueueFull,
)
from nexus_image.application.limits import RateLimit, generation_key
from nexus_image.application.moderation import ModeratePrompts
from nexus_image.application.ports import (
    AuditRecord,
    Clock,
    IdGenerator,
    LoraCatalog,
    Metrics,
    ModelCatalog,
    SeedSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.ports.generation import default_model
from nexus_image.application.ports.webhooks import Subscription
from nexus_image.application.transactions import account_for, account_secrets, in_transaction, record
from nexus_image.application.usage import usage_of
from nexus_image.application.views import job_view
from nexus_image.domain.dynamic_prompts import EXPANSION_LIMIT, WildcardSource, has_dynamic_syntax, parse
from nexus_image.domain.errors import (
    AccountSuspended,
    InsufficientTokens,
    InvalidValue,
    UnknownFastMode,
    UnknownLora,
    UnknownModel,
    UnknownUpscaler,
)
from nexus_image.domain.fast_modes import FastMode
from nexus_image.domain.job import ImageJob
from nexus_image.domain.parameters import (
    LANCZOS_UPSCALER,
    LATENT_UPSCALER,
    GenerationParameters,
    Kind,
    LoraWeight,
    Mode,
    consecutive_seeds,
    parameter_fields,
    request_fields,
)
from nexus_image.domain.queue import DURATION_SAMPLE, Tier, TierPolicy, mean_generation_seconds
from nexus_image.domain.quota import check_quotas
from nexus_image.domain.resolution import Pricing
from nexus_image.domain.webhooks import DestinationPolicy, checked_destination, events_of

UpscalerNames = Callable[[], tuple[str, ...]]
PresetResolver = Callable[[str, str, Mapping[str, Any]], dict[str, Any]]
"""(user, preset id, the request's image fields) -> the fields with the preset applied."""

UNKNOWN_WAIT_SECONDS = 10  # Retry-After of a full queue before any generation time is known


def _fingerprint(command: GenerateImage) -> str:
    """What makes two requests the same: every declared field, absent ones at their default
    (so spelling a default out is the same request), adapters in any order. A field without a
    value and without a default is left out: a field added later leaves the fingerprints of
    requests that do not use it as they were."""
    body: dict[str, object] = {"user_id": command.user_id}
    for description in request_fields():
        value = command.given.get(description.name)
        if value is None and description.default is not MISSING:
            value = description.default
        if description.param.kind is Kind.ADAPTERS:
            value = _adapter_pairs(value)
        elif description.param.kind is Kind.CHOICES and value is not None:
            value = sorted({str(v) for v in value})  # type: ignore[attr-defined]
        if value is not None:
            body[description.name] = value
    return _digest(body)


def _earlier_fingerprints(command: GenerateImage) -> set[str]:
    """What a key recorded by an earlier version may hold for `command`: the fields of the first
    request shape only (those with `since` 1; a command that gives a later one is no earlier
    request), absent ones as None, except the defaults that the command or the client spelled
    out then. Each field with a default is tried both ways (as given and at its default; a few
    dozen hashes, only when a replayed key's fingerprint differs), so such a key still finds
    its job."""
    names: list[str] = ["user_id"]
    choices: list[list[object]] = [[command.user_id]]
    for description in request_fields():
        value = command.given.get(description.name)
        if description.param.since > 1:
            if value is not None:
                return set()
            continue
        options: list[object] = [value]
        if description.param.kind is Kind.ADAPTERS:
            options = [_adapter_pairs(value)]
        elif description.default not in (MISSING, None):
            if value is None:
                options.append(description.default)
            elif str(value) == str(description.default):
                options.append(None)
        names.append(description.name)
        choices.append(options)
    return {_digest(dict(zip(names, chosen, strict=True))) for chosen in product(*choices)}


def _digest(body: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _adapter_pairs(value: object) -> list[tuple[str, float]]:
    return sorted(
        (str(a["name"]), float(a.get("weight", 1.0))) if isinstance(a, dict) else (a.name, float(a.weight))
        for a in value or ()  # type: ignore[attr-defined]
    )


def remixed(base: GenerationParameters, command: GenerateImage) -> GenerateImage:
    """A remix: the stored parameters of an image, with what `command` gives changed. Only what
    is given changes (a new variation seed alone keeps the stored strength; the seed too: the
    same settings give the same image). A new starting image does not keep the old one's mask:
    it was drawn for that image."""
    stored = {k: v for k, v in base.fields().items() if v is not None}
    for template, text in (("prompt_template", "prompt"), ("negative_template", "negative_prompt")):
        if template in stored:  # drawn again from the seed: the same text for the same seed
            stored[text] = stored.pop(template)
    # what was applied stays applied (the preset's template is in the stored prompt, the fast
    # mode's settings in the stored ones): neither is applied a second time
    for applied in ("upscale_of", "upscale_factor", "upscaler", "fast", "preset"):
        stored.pop(applied, None)
    if "init_image_id" in command.given and "mask_image_id" not in command.given:
        stored.pop("mask_image_id", None)
    merged: dict[str, Any] = {**stored, **command.given}
    return GenerateImage(command.user_id, client_key=command.client_key, tier=command.tier, **merged)


@dataclass(slots=True)
class RequestGeneration:
    """A valid, allowed request is charged exactly its resolution's price and queued, in one
    transaction: no charge without a job, no job without a charge. The same client key twice
    gives the same job and one charge; for several images, those of the group still there (a
    group is named after its first image, which the key records), spent only once all are
    deleted. A `limited` request (one that came over the API) takes its hit of `rate_limit` in
    that same transaction, so a request refused for its balance, or rolled back, has not used
    its slot, and a replay of a client key uses none. A refused prompt counts too (the filter
    cannot be probed at speed); past the limit it is answered as over the limit.

    Each job is queued in its owner's tier (the command's, from the caller's credentials, else
    the policy's default): a user with `max_queued` images queued already is refused
    (UserQueueFull, nothing charged); a request with a deadline records when it expires."""

    uow_factory: UnitOfWorkFactory
    moderation: ModeratePrompts
    clock: Clock
    ids: IdGenerator
    seeds: SeedSource
    metrics: Metrics
    welcome_grant: int = 0
    rate_limit: RateLimit | None = None
    audit_action: str = "image.generate"
    pricing: Pricing = field(default_factory=Pricing)
    adapters: LoraCatalog | None = None  # the operator's LoRA adapters; None: none offered
    models: ModelCatalog | None = None  # the models offered; None: the model is not chosen here
    style_models: dict[str, str] = field(default_factory=dict)  # a style's preferred model, by name
    policy: TierPolicy = field(default_factory=TierPolicy)
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)  # where webhooks may go
    wildcards: WildcardSource | None = None  # the operator's __name__ files; None: none
    fast_modes: dict[str, FastMode] = field(default_factory=dict)
    upscalers: UpscalerNames | None = None  # the upscalers a hires fix may name (besides built-ins)
    presets: PresetResolver | None = None  # a user's presets (own or shared), by id

    def parameters(self, command: GenerateImage) -> GenerationParameters:
        """The first image's parameters (the only one's, unless several are asked for)."""
        given = command.image_fields()
        if given.get("preset") is not None and self.presets is not None:
            given = self.presets(command.user_id, str(given["preset"]), given)
        if given.get("seed") is None:
            given["seed"] = self.seeds.random_seed()
        parameters = GenerationParameters.create(**given)
        for name, text in (("prompt", parameters.prompt), ("negative_prompt", parameters.negative_prompt)):
            if has_dynamic_syntax(text):
                parse(text, self.wildcards, name)  # a template that cannot be read is refused now
        parameters = self._fast(parameters)
        self._allowed_adapters(parameters)
        self._allowed_upscaler(parameters)
        return self._with_model(parameters)

    def _fast(self, parameters: GenerationParameters) -> GenerationParameters:
        if parameters.fast is None:
            return parameters
        mode = self.fast_modes.get(parameters.fast)
        if mode is None:
            allowed = tuple(self.fast_modes)
            listed = ", ".join(allowed) if allowed else "none: no fast mode is offered here"
            message = f"unknown fast mode {parameters.fast!r}; allowed: {listed}"
            raise UnknownFastMode("fast", message, allowed)
        return mode.apply(parameters)

    def _allowed_upscaler(self, parameters: GenerationParameters) -> None:
        name = parameters.hires_upscaler
        if name is None or name in (LATENT_UPSCALER, LANCZOS_UPSCALER):
            return
        allowed = (LATENT_UPSCALER, *(self.upscalers() if self.upscalers is not None else ()))
        if name not in allowed:
            raise UnknownUpscaler(
                "hires_upscaler", f"unknown upscaler {name!r}; allowed: {', '.join(allowed)}", allowed
            )

    def drawn(self, images: list[GenerationParameters]) -> list[GenerationParameters]:
        """Each image's prompts with their {a|b} choices and __wildcards__ drawn from its own
        seed (the template is recorded beside the text)."""
        drawn = []
        for p in images:
            if has_dynamic_syntax(p.prompt):
                text = parse(p.prompt, self.wildcards).expand(p.seed)
                p = replace(p, prompt=text, prompt_template=p.prompt)
            if has_dynamic_syntax(p.negative_prompt):
                negative = parse(p.negative_prompt, self.wildcards, "negative_prompt").expand(p.seed)
                p = replace(p, negative_prompt=negative, negative_template=p.negative_prompt)
            drawn.append(p)
        return drawn

    def judged_texts(self, prompt: str) -> list[str]:
        """What moderation reads for a prompt: itself, or every text its template can become
        (one text holding every option when there are more than EXPANSION_LIMIT)."""
        if not has_dynamic_syntax(prompt):
            return [prompt]
        template = parse(prompt, self.wildcards)
        return template.expansions(EXPANSION_LIMIT) or [template.all_words()]

    def offered_models(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models.offered()) if self.models is not None else ()

    def _with_model(self, parameters: GenerationParameters) -> GenerationParameters:
        """The model named, if it is offered here (else UnknownModel, with the names offered);
        none named: the style's preferred model where the operator set one that is offered,
        else the default. The job records the name, so it reaches a worker serving it."""
        if self.models is None:
            return parameters
        offered = self.models.offered()
        names = tuple(m.name for m in offered)
        if parameters.model is not None:
            if parameters.model not in names:
                listed = ", ".join(names) if names else "none: no model is installed here"
                raise UnknownModel("model", f"unknown model {parameters.model!r}; allowed: {listed}", names)
            return parameters
        preferred = self.style_models.get(parameters.style.value)
        if preferred in names:
            return replace(parameters, model=preferred)
        chosen = default_model(offered)
        return replace(parameters, model=chosen.name) if chosen is not None else parameters

    def _allowed_adapters(self, parameters: GenerationParameters) -> None:
        """Adapters only from the operator's list."""
        allowed = tuple(a.name for a in self.adapters.available()) if self.adapters is not None else ()
        for description in parameter_fields():
            if description.param.kind is not Kind.ADAPTERS:
                continue
            chosen: tuple[LoraWeight, ...] = getattr(parameters, description.name)
            for adapter in chosen:
                if adapter.name not in allowed:
                    listed = ", ".join(allowed) if allowed else "none: no LoRA adapters are offered here"
                    raise UnknownLora(
                        description.name, f"unknown LoRA {adapter.name!r}; allowed: {listed}", allowed
                    )

    def _sources(self, uow: UnitOfWork, user_id: str, first: GenerationParameters) -> None:
        """The starting image and mask are the caller's own uploads (another user's answers as
        a missing one), and the mask has the starting image's size."""
        if first.init_image_id is None:
            return
        init = owned_upload(uow, user_id, first.init_image_id, "init_image_id")
        if first.mask_image_id is not None:
            mask = owned_upload(uow, user_id, first.mask_image_id, "mask_image_id")
            if (mask.width, mask.height) != (init.width, init.height):
                raise InvalidValue(
                    "mask_image_id",
                    f"the mask is {mask.width}x{mask.height}; it must have the starting image's size, "
                    f"{init.width}x{init.height}",
                )

    def cost(self, parameters: GenerationParameters) -> int:
        """One image's price: its resolution's, in its mode (the operator's prices), by the
        area drawn (a hires fix's final size), times its fast mode's price."""
        if parameters.mode is Mode.UPSCALE:
            return self.pricing.upscale_cost(*parameters.output_size)
        tokens = self.pricing.cost(parameters.resolution, parameters.mode.value)
        width, height = parameters.drawn_size
        area = width * height / (parameters.width * parameters.height)
        tokens = max(1, math.ceil(tokens * area - 1e-9))
        mode = self.fast_modes.get(parameters.fast) if parameters.fast is not None else None
        return mode.priced(tokens) if mode is not None else tokens

    def expand(self, first: GenerationParameters, count: int) -> list[GenerationParameters]:
        """Each image's parameters: consecutive seeds from the first; with a variation, the seed
        stays and the variation seeds are consecutive instead (several variations of one image)."""
        if first.variation_seed is not None:
            seeds = consecutive_seeds(first.variation_seed, count)
            return [replace(first, variation_seed=seed) for seed in seeds]
        return [replace(first, seed=seed) for seed in consecutive_seeds(first.seed, count)]

    def execute(self, command: GenerateImage) -> ImageView:
        """The first (or only) image of the request."""
        views, _ = self.submit(command)
        return views[0]

    def _limited(self, uow: UnitOfWork, user_id: str, limited: bool) -> None:
        if limited and self.rate_limit is not None:
            now = self.clock.now().timestamp()
            wait = self.rate_limit.take(uow.rate_limits, generation_key(user_id), now)
            if wait is not None:
                raise RateLimitExceeded(wait)

    def _room(self, uow: UnitOfWork, user_id: str, tier: Tier, asked: int) -> None:
        """Refuse a request that would take the user past their tier's queued cap: for now
        (429, retry later), or for good when it asks for more than the cap at once (422)."""
        if asked > tier.max_queued:
            raise InvalidValue(
                "num_images",
                f"the {tier.name} tier queues at most {tier.max_queued} images at once; ask for fewer",
            )
        queued = uow.queue.queued_count(user_id)
        if queued + asked <= tier.max_queued:
            return
        excess = queued + asked - tier.max_queued
        recent = uow.jobs.recent_completions(self.clock.now() - timedelta(hours=1), DURATION_SAMPLE)
        mean = mean_generation_seconds((j.started_at, j.completed_at) for j in recent)
        per_round = max(1, tier.max_running)
        wait = UNKNOWN_WAIT_SECONDS if mean is None else max(1, round(mean * -(-excess // per_round)))
        raise UserQueueFull(tier.name, tier.max_queued, queued, asked, wait)

    def _moderated(self, user_id: str, prompt: str, limited: bool) -> None:
        try:
            self.moderation.require_allowed(user_id, prompt)
        except PromptRejected:
            in_transaction(self.uow_factory, lambda uow: self._limited(uow, user_id, limited))
            raise

    def remix(
        self,
        image_id: str,
        command: GenerateImage,
        audit_detail: str | None = None,
        limited: bool = False,
    ) -> tuple[list[ImageView], bool]:
        """A new request made of the stored parameters of one of the caller's images (or a
        public one: another user's private image answers as a missing one), with `command`'s
        fields changed (see `remixed`); audited as `image.remix`."""
        with self.uow_factory() as uow:
            base = visible_job(uow, image_id, command.user_id).parameters
        if (
            base.model is not None
            and "model" not in command.given
            and base.model not in self.offered_models()
        ):
            base = replace(base, model=None)  # its model is gone: the remix takes today's choice
        return self.submit(remixed(base, command), audit_detail, limited, "image.remix")

    def submit(
        self,
        command: GenerateImage,
        audit_detail: str | None = None,
        limited: bool = False,
        audit_action: str | None = None,
        prepared: GenerationParameters | None = None,
        fingerprint: str | None = None,
    ) -> tuple[list[ImageView], bool]:
        """Every image of the request (one job each, in seed order), and whether
        they were created now (False: an Idempotency-Key replayed, nothing charged): all of
        them are charged and queued in one transaction, or none is. With `audit_detail`, the
        success row of the audit trail is written in the same transaction, as `audit_action`
        (`image.remix`; by default this use case's `audit_action`); failures are the caller's
        to record: their transaction is gone. `prepared`: the image's parameters, made by the
        caller (an upscale's) rather than from the command's fields, and `fingerprint` what
        makes two such requests the same."""
        action = audit_action or self.audit_action
        # the image's fields are checked before the options
        first = self.parameters(command) if prepared is None else prepared
        options = command.options()
        if options.webhook_url is not None:
            checked_destination(options.webhook_url, self.destinations)
        elif options.webhook_events is not None:
            raise InvalidValue("webhook_events", "webhook_events filters a webhook_url: send one with it")
        images = self.expand(first, options.num_images)
        if prepared is None:  # (a prepared image's prompt was drawn and judged when it was made)
            judged = self.judged_texts(first.prompt)
            images = self.drawn(images)
            # every text the template can become, and what each image drew (a word split
            # across two choices is in no single option)
            for text in dict.fromkeys([*judged, *(p.prompt for p in images)]):
                self._moderated(command.user_id, text, limited)
        fingerprint = (
            _digest({"user_id": command.user_id, "same": fingerprint})
            if fingerprint
            else _fingerprint(command)
        )
        tiers = [self.policy.tier(command.tier)]  # the request's tier, once its account is read
        created: list[bool] = []

        def audited(uow: UnitOfWork, jobs: list[ImageJob]) -> list[ImageJob]:
            if audit_detail is not None:
                detail = audit_detail if len(jobs) == 1 else f"{audit_detail}: group {jobs[0].group_id}"
                entry = AuditRecord.cut(
                    command.user_id, action, jobs[0].id, "success", self.clock.now(), detail
                )
                uow.audit.record(entry)
            return jobs

        def replayed(uow: UnitOfWork, job_id: str, previous: str) -> list[ImageJob]:
            """A replay repeats the answer while every image of the request still exists (each
            in its state now); once any was deleted, the key is spent (409), for one image or
            several alike: a client never takes a part of its request for the whole."""
            if previous != fingerprint and previous not in _earlier_fingerprints(command):
                raise IdempotencyConflict("this Idempotency-Key was already used with a different request")
            job = uow.jobs.get(job_id)
            # The key names the first image, and a group is named after its first image.
            group = job.group_id if job is not None else job_id
            found = uow.jobs.in_group(group) if group else []
            found = found or ([job] if job is not None else [])
            if len(found) < len(images):
                raise IdempotencyKeySpent(
                    f"this Idempotency-Key was used for a request of {len(images)} image(s), "
                    f"{len(images) - len(found)} of which have been deleted since; send a new key "
                    "for a new request (the images left are listed by GET /images/user/me)"
                )
            return audited(uow, found)

        def work(uow: UnitOfWork) -> list[ImageJob]:
            created.clear()
            if command.client_key:
                existing = uow.idempotency.get(command.user_id, command.client_key)
                if existing is not None:
                    return replayed(uow, *existing)
            self._limited(uow, command.user_id, limited)
            self._sources(uow, command.user_id, images[0])
            # The account row is locked from here: one user's requests are counted one at a time.
            account = account_for(uow, command.user_id, self.welcome_grant, self.clock)
            if account.suspended:
                raise AccountSuspended(command.user_id)
            tier = tiers[0] = self.policy.tier(account.tier or command.tier)  # an operator's choice wins
            self._room(uow, command.user_id, tier, len(images))
            if tier.images_per_day or tier.images_per_month or tier.bytes_stored:
                now = self.clock.now()
                check_quotas(tier, usage_of(uow, command.user_id, now, live=False), len(images), now)
            if len(images) > 1:  # refused for the whole price, not for whichever image ran out
                total = sum(self.cost(p) for p in images)
                if total > account.balance:
                    raise InsufficientTokens(total, account.balance)
            now = self.clock.now()
            deadline = now + timedelta(seconds=options.deadline_seconds) if options.deadline_seconds else None
            job_ids = [self.ids.new_id() for _ in images]
            group = job_ids[0] if len(images) > 1 else None  # named after its first image
            jobs: list[ImageJob] = []
            for index, (job_id, params) in enumerate(zip(job_ids, images, strict=True)):
                job, submitted = ImageJob.submit(
                    job_id,
                    command.user_id,
                    params,
                    now + timedelta(microseconds=index),  # a group lists in seed order
                    is_public=options.is_public,
                    companion_id=options.companion_id,
                    event_id=self.ids.new_id(),
                    group_id=group,
                    tokens_cost=self.cost(params),
                    tier=tier.name,
                    deadline_at=deadline,
                )
                record(uow, job, submitted, self.clock, new=True, welcome_grant=self.welcome_grant)
                if options.webhook_url is not None:
                    uow.webhooks.subscribe(
                        job.id, Subscription(options.webhook_url, events_of(options.webhook_events))
                    )
                jobs.append(job)
            if options.webhook_url is not None:
                account_secrets(uow, command.user_id)  # the receiver can fetch it before the first call
            if command.client_key:
                uow.idempotency.add(command.user_id, command.client_key, jobs[0].id, fingerprint, now)
            created.append(True)
            return audited(uow, jobs)

        try:
            jobs = in_transaction(self.uow_factory, work)
        except UserQueueFull as full:
            self.metrics.queue_refused(full.tier)
            raise

        if created:
            for job in jobs:
                p = job.parameters
                self.metrics.generation_requested(p.style.value, p.resolution.value, job.tokens_cost, p.model)
        return [job_view(job, self.policy) for job in jobs], bool(created)
