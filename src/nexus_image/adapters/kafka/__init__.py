"""Kafka adapters (confluent-kafka): the outbox relay's publisher, the workers' job queue, the
progress publisher and the API replicas' live-event feed."""

from nexus_image.adapters.kafka.config import client_config
from nexus_image.adapters.kafka.feed import KafkaEventFeed
from nexus_image.adapters.kafka.publisher import KafkaEventPublisher, KafkaLivePublisher
from nexus_image.adapters.kafka.queue import KafkaJobQueue
from nexus_image.adapters.kafka.topics import Topics, ensure_topics

__all__ = [
    "KafkaEventFeed",
    "KafkaEventPublisher",
    "KafkaJobQueue",
    "KafkaLivePublisher",
    "Topics",
    "client_config",
    "ensure_topics",
]
