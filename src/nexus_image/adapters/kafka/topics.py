"""Topic names, which event goes where, and creating the topics on a broker.

A job's events are keyed by job id, so all of them land on one partition of their topic and keep
their order; requests, outcomes and progress live on separate topics because different readers
want them (workers, notifiers, live views) at very different volumes. The requests topic carries
the dispatcher's dispatches (the jobs for the workers, each aimed at the partition of a worker with
room where the dispatcher knows one); a request's acceptance (`queued`) is news for watchers, on
the progress topic."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from nexus_image.adapters.kafka.config import for_admin
from nexus_image.application.errors import QueueUnavailable
from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationDispatched,
    GenerationExpired,
    GenerationFailed,
)

log = logging.getLogger(__name__)

REQUESTS = "image.generation.requests"
COMPLETED = "image.generation.completed"
PROGRESS = "image.generation.progress"


@dataclass(frozen=True, slots=True)
class Topics:
    """The three topic names, all behind one prefix (an environment, a tenant, a test)."""

    prefix: str = ""

    @property
    def requests(self) -> str:
        return self.prefix + REQUESTS

    @property
    def completed(self) -> str:
        return self.prefix + COMPLETED

    @property
    def progress(self) -> str:
        return self.prefix + PROGRESS

    def requests_for(self, model: str | None) -> str:
        """The requests topic of one model's jobs (its workers read it); jobs that name no
        model (made before models had names) go to the plain one, which every worker reads."""
        return f"{self.requests}.{model}" if model else self.requests

    def all(self, models: Iterable[str] = ()) -> list[str]:
        return [self.requests, *(self.requests_for(m) for m in models), self.completed, self.progress]

    def for_event(self, event: DomainEvent) -> str:
        if isinstance(event, GenerationDispatched):
            return self.requests_for(event.model)
        if isinstance(
            event, GenerationCompleted | GenerationFailed | GenerationCancelled | GenerationExpired
        ):
            return self.completed
        return self.progress  # requested (queued), started, progress: news for watchers


def ensure_topics(
    config: Mapping[str, Any],
    names: Iterable[str],
    partitions: int = 6,
    replication_factor: int = -1,
    timeout: float = 10.0,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created. The partition count
    caps how many workers of one group can share the requests topic. A replication factor of -1
    takes the broker's default."""
    settings: dict[str, Any] = {"logger": log, **for_admin(config)}
    admin = AdminClient(settings)
    wanted = [
        NewTopic(name, num_partitions=partitions, replication_factor=replication_factor) for name in names
    ]
    try:
        futures = admin.create_topics(wanted, request_timeout=timeout, operation_timeout=timeout)
    except KafkaException as error:
        raise QueueUnavailable(f"cannot create topics: {error}") from error
    created: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as error:
            if error.args and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise QueueUnavailable(f"cannot create topic {name}: {error}") from error
        except Exception as error:  # a future that timed out
            raise QueueUnavailable(f"cannot create topic {name}: {error}") from error
    if created:
        log.info("created topics %s with %d partitions", created, partitions)
    return created
