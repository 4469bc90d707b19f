"""Request a generation: moderate, price, debit, create the job and its outbox event at once."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from nexus_image.application.dto import GenerateImage, ImageView
from nexus_image.application.errors import IdempotencyConflict, NotFound, PromptRejected
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    Metrics,
    PromptModerator,
    SeedSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.transactions import account_for, in_transaction
from nexus_image.domain.events import GenerationRequested
from nexus_image.domain.job import ImageJob
from nexus_image.domain.parameters import DEFAULT_SCHEDULER, GenerationParameters, Scheduler
from nexus_image.domain.resolution import Resolution, price
from nexus_image.domain.styles import Style


def requested_event(job: ImageJob, event_id: str, at: datetime) -> GenerationRequested:
    """The event that puts `job` on the queue (again, after recovery or a lost queue)."""
    return GenerationRequested(
        event_id=event_id,
        job_id=job.id,
        user_id=job.user_id,
        occurred_at=at,
        parameters=dict(job.parameters.to_dict()),
        tokens_cost=job.tokens_cost,
    )


def _fingerprint(command: GenerateImage) -> str:
    body = {k: getattr(command, k) for k in command.__slots__ if k != "client_key"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(slots=True)
class RequestGeneration:
    """A valid, allowed request is charged exactly its resolution's price and queued, in one
    transaction: no charge without a job, no job without a charge. The same client key twice
    gives the same job and one charge."""

    uow_factory: UnitOfWorkFactory
    moderator: PromptModerator
    clock: Clock
    ids: IdGenerator
    seeds: SeedSource
    metrics: Metrics
    welcome_grant: int = 0

    def parameters(self, command: GenerateImage) -> GenerationParameters:
        style = Style.parse(command.style)
        resolution = Resolution.parse(command.resolution)
        scheduler = Scheduler.parse(command.scheduler) if command.scheduler else DEFAULT_SCHEDULER
        seed = command.seed if command.seed is not None else self.seeds.random_seed()
        return GenerationParameters.create(
            prompt=command.prompt,
            negative_prompt=command.negative_prompt,
            style=style,
            resolution=resolution,
            seed=seed,
            steps=command.steps,
            guidance=command.guidance,
            scheduler=scheduler,
        )

    def execute(self, command: GenerateImage) -> ImageView:
        params = self.parameters(command)
        verdict = self.moderator.check(params.prompt)
        if not verdict.allowed:
            raise PromptRejected(verdict.category or "unspecified")
        fingerprint = _fingerprint(command)
        created: list[bool] = []

        def work(uow: UnitOfWork) -> ImageJob:
            created.clear()
            if command.client_key:
                existing = uow.idempotency.get(command.user_id, command.client_key)
                if existing is not None:
                    job_id, previous = existing
                    if previous != fingerprint:
                        raise IdempotencyConflict(
                            "this Idempotency-Key was already used with a different request"
                        )
                    job = uow.jobs.get(job_id)
                    if job is None:
                        raise NotFound("image", job_id)
                    return job
            now = self.clock.now()
            job = ImageJob(
                id=self.ids.new_id(),
                user_id=command.user_id,
                parameters=params,
                tokens_cost=price(params.resolution),
                created_at=now,
                is_public=command.is_public,
                companion_id=command.companion_id,
            )
            account = account_for(uow, command.user_id, self.welcome_grant, self.clock)
            account.debit(job.tokens_cost, "image generation", now, job.id)
            uow.accounts.save(account)
            uow.jobs.add(job)
            if command.client_key:
                uow.idempotency.add(command.user_id, command.client_key, job.id, fingerprint, now)
            uow.outbox.add(requested_event(job, self.ids.new_id(), now))
            created.append(True)
            return job

        job = in_transaction(self.uow_factory, work)
        if created:
            self.metrics.generation_requested(params.style.value, params.resolution.value, job.tokens_cost)
        return ImageView.of(job)
