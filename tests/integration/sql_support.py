"""Helpers for the SQL integration tests: an ImageService over a given unit-of-work factory."""

from __future__ import annotations

from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.adapters.memory import CollectingPublisher, InMemoryStorage, PatternGenerator
from nexus_image.adapters.moderation import RuleBasedModerator
from nexus_image.adapters.system import RandomSeeds, SystemClock, UuidGenerator
from nexus_image.application import Dependencies, ImageService
from nexus_image.application.ports import EventPublisher, UnitOfWorkFactory


def service_on(
    uow_factory: UnitOfWorkFactory, welcome_grant: int = 0, publisher: EventPublisher | None = None
) -> ImageService:
    return ImageService(
        Dependencies(
            uow_factory=uow_factory,
            storage=InMemoryStorage(),
            moderator=RuleBasedModerator(),
            clock=SystemClock(),
            ids=UuidGenerator(),
            seeds=RandomSeeds(),
            publisher=publisher or CollectingPublisher(),
            generator=PatternGenerator(),
            encoder=PillowEncoder(),
            welcome_grant=welcome_grant,
        )
    )
