"""Errors raised by use cases and by adapters on their behalf (infrastructure is translated here)."""

from __future__ import annotations

from nexus_image.domain.errors import AccessDenied


class ApplicationError(Exception):
    code = "application_error"


class NotFound(ApplicationError):
    code = "not_found"

    def __init__(self, kind: str, identifier: str) -> None:
        super().__init__(f"{kind} {identifier} not found")
        self.kind = kind
        self.identifier = identifier


class NotVisible(NotFound, AccessDenied):
    """Somebody else's private image or album: answered exactly like a missing one (same
    message, same code), so its existence is never confirmed. It is an AccessDenied too, for
    callers that catch that."""

    def __init__(self, kind: str, identifier: str) -> None:
        NotFound.__init__(self, kind, identifier)


class MissingUpload(NotFound):
    """An upload named by a request is not the caller's (or does not exist): one answer."""

    def __init__(self, upload_id: str, field: str) -> None:
        super().__init__("upload", upload_id)
        self.field = field


class PayloadTooLarge(ApplicationError):
    """A file sent is larger than the endpoint takes."""

    code = "payload_too_large"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PromptRejected(ApplicationError):
    """The moderator refused the prompt; says which category matched and which layer decided."""

    code = "prompt_rejected"

    def __init__(self, category: str, layer: str = "unspecified") -> None:
        super().__init__(f"prompt rejected by moderation (category: {category})")
        self.category = category
        self.layer = layer


class Conflict(ApplicationError):
    code = "conflict"


class ConcurrentUpdate(Conflict):
    """Somebody else changed the row since it was read; the use case may retry."""

    code = "concurrent_update"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class IdempotencyKeySpent(IdempotencyConflict):
    """The key's job was deleted since: the key cannot be replayed, nor used for a new job."""

    code = "idempotency_key_spent"


class StorageUnavailable(ApplicationError):
    """Object storage failed; transient unless proven otherwise."""

    code = "storage_unavailable"


class DatabaseUnavailable(ApplicationError):
    """The database cannot be reached or refused the work for a reason other than the data."""

    code = "database_unavailable"


class QueueUnavailable(ApplicationError):
    code = "queue_unavailable"


class GenerationInterrupted(ApplicationError):
    """The generator stopped at a step boundary because the job was cancelled."""

    code = "generation_interrupted"


class GenerationError(ApplicationError):
    """The generator itself failed (out of memory, bad model, ...)."""

    code = "generation_error"


class RateLimitExceeded(ApplicationError):
    """More requests of one kind than the configured rate allows; `wait` seconds until one fits."""

    code = "rate_limited"

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many requests; retry in {wait:.1f} s")
        self.wait = wait


class UserQueueFull(ApplicationError):
    """The user already has as many images queued as their tier allows (`cap`): nothing of the
    request was charged; `retry_after` seconds is when some of them should have started."""

    code = "user_queue_full"

    def __init__(self, tier: str, cap: int, queued: int, asked: int, retry_after: int) -> None:
        super().__init__(
            f"you have {queued} images queued and asked for {asked} more; the {tier} tier allows "
            f"{cap} queued at once: retry once some have started (in about {retry_after} s)"
        )
        self.tier = tier
        self.cap = cap
        self.queued = queued
        self.retry_after = retry_after
