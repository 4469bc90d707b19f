"""Helpers for the SQL integration tests: an ImageService over a given unit-of-work factory."""

from __future__ import annotations

from nexus_image.application import ImageService
from nexus_image.application.ports import EventPublisher, UnitOfWorkFactory
from nexus_image.testing import CollectingPublisher
from tests.support.driver import memory_service


def service_on(
    uow_factory: UnitOfWorkFactory, welcome_grant: int = 0, publisher: EventPublisher | None = None
) -> ImageService:
    return memory_service(
        welcome_grant, uow_factory=uow_factory, publisher=publisher or CollectingPublisher()
    )
