"""Checking a prompt before asking for it: free, but counted against the generation rate."""

from __future__ import annotations

from litestar import Controller, post

from nexus_image.application.moderation import ModeratePrompts
from nexus_image.application.ports import RateLimiter
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.limits import count_request
from nexus_image.entrypoints.http.schemas import ModerationCheckRequest, ModerationCheckResponse


class ModerationController(Controller):
    path = "/moderation"
    tags = ["moderation"]

    @post(
        "/check",
        status_code=200,
        sync_to_thread=True,
        summary="Would this prompt be refused?",
        responses=problems(400, 413, 415, 429),
    )
    def check(
        self, data: ModerationCheckRequest, user: str, moderation: ModeratePrompts, limiter: RateLimiter
    ) -> ModerationCheckResponse:
        """The verdict generation would give the prompt: `allowed`, else the `category` and the
        `layer` that decided. Charges nothing; counts as one request against the caller's
        generation rate limit, so it cannot be used to probe the filter at speed."""
        count_request(limiter, user)
        verdict = moderation.check(user, data.prompt, purpose="check")
        return ModerationCheckResponse(
            allowed=verdict.allowed,
            category=None if verdict.allowed else verdict.category,
            layer=None if verdict.allowed else verdict.layer,
        )
