"""The worker's topics: where flows come from and where results go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iotad.errors import BrokerError
from iotad.schemas.labels import Category
from iotad.settings import Settings, TopicSettings


@dataclass(frozen=True)
class WorkerTopics:
    """Topic names the worker reads and writes."""

    flows: str
    alerts: str
    dead_letters: str
    models: str
    per_category_alerts: bool
    incidents: str = "iotad.incidents"

    @classmethod
    def from_settings(cls, topics: TopicSettings) -> WorkerTopics:
        """The names configured in ``topics``."""
        return cls(
            flows=topics.flows,
            alerts=topics.alerts,
            dead_letters=topics.dead_letters,
            models=topics.models,
            per_category_alerts=topics.per_category_alerts,
            incidents=topics.incidents,
        )

    def category_topic(self, category: Category) -> str:
        """The per-category alert topic, e.g. ``iotad.alerts.ddos``."""
        return f"{self.alerts}.{category.slug}"

    def required(self, categories: tuple[Category, ...] = ()) -> tuple[str, ...]:
        """Every topic that must exist before the worker starts."""
        names = [self.flows, self.alerts, self.dead_letters, self.models, self.incidents]
        if self.per_category_alerts:
            names.extend(self.category_topic(c) for c in categories if c is not Category.BENIGN)
        return tuple(dict.fromkeys(names))


def missing_topics(settings: Settings, required: Sequence[str]) -> list[str]:
    """The ``required`` topics the broker does not have.

    Raises
    ------
    BrokerError
        if the broker cannot be reached.
    """
    return [t for t in required if t not in topic_partitions(settings, required)]


def topic_partitions(settings: Settings, names: Sequence[str]) -> dict[str, int]:
    """Partition counts of those of ``names`` the broker has.

    Raises
    ------
    BrokerError
        if the broker cannot be reached.
    """
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka.bootstrap_servers.split(","),
            client_id=f"{settings.kafka.client_id}-preflight",
            request_timeout_ms=int(settings.kafka.request_timeout_s * 1000) + 1000,
        )
    except KafkaError as exc:
        raise broker_unreachable(settings.kafka.bootstrap_servers, exc) from exc
    try:
        existing = consumer.topics()
        return {
            name: len(consumer.partitions_for_topic(name) or ())
            for name in names
            if name in existing
        }
    finally:
        consumer.close()


def flows_topic(app: Any, topics: WorkerTopics) -> Any:
    """The Faust topic of incoming flows: raw bytes in, decoded by the core (not by Faust)."""
    return app.topic(
        topics.flows, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def alerts_topic(app: Any, topics: WorkerTopics) -> Any:
    """The Faust topic of alerts as the incident agent reads them (raw bytes, key = category)."""
    return app.topic(
        topics.alerts,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


def broker_unreachable(bootstrap_servers: str, reason: object) -> BrokerError:
    """The error for a broker that does not answer, with what to do about it."""
    return BrokerError(
        f"cannot reach Kafka at {bootstrap_servers}: {reason}",
        hint="start the broker (`iotad kafka up`) or set IOTAD_KAFKA__BOOTSTRAP_SERVERS",
    )


__all__ = [
    "WorkerTopics",
    "alerts_topic",
    "broker_unreachable",
    "flows_topic",
    "missing_topics",
    "topic_partitions",
]
