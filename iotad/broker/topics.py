"""The product's topics: created explicitly, idempotently, with their partition counts."""

from __future__ import annotations

import logging
from typing import Any

import kafka.errors as kafka_errors
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from iotad.broker.admin import admin_client
from iotad.broker.types import TopicInfo, TopicReport
from iotad.errors import BrokerError
from iotad.schemas.labels import Category
from iotad.settings import TopicSettings

logger = logging.getLogger(__name__)

#: Categories that can appear on an alert (a benign verdict never raises one).
ALERT_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c is not Category.BENIGN)


def product_topics(topics: TopicSettings) -> dict[str, int]:
    """Every topic the product uses, with its partition count.

    flows, alerts, dead letters and incidents get ``topics.partitions``; the model-control topic
    gets one partition (model announcements must stay in order). With ``per_category_alerts``,
    one alert topic per category is added (``iotad.alerts.<category slug>``).
    """
    wanted = {
        topics.flows: topics.partitions,
        topics.alerts: topics.partitions,
        topics.dead_letters: topics.partitions,
        topics.incidents: topics.partitions,
        topics.models: 1,
    }
    if topics.per_category_alerts:
        wanted.update((topics.alert_topic_for(c.slug), topics.partitions) for c in ALERT_CATEGORIES)
    return wanted


def ensure_topics(
    bootstrap_servers: str, wanted: dict[str, int], *, timeout_s: float = 30.0
) -> TopicReport:
    """Create the topics of ``wanted`` that do not exist yet and wait until they have leaders.

    Existing topics are left as they are; one with a different partition count is reported
    with a warning, never altered.

    Raises
    ------
    BrokerError
        when the broker cannot be reached or refuses to create a topic.
    """
    with admin_client(bootstrap_servers, timeout_s=timeout_s) as client:
        try:
            existing = _partition_counts(client, list(wanted))
            missing = {name: n for name, n in wanted.items() if name not in existing}
            if missing:
                _create(client, missing, timeout_s)
        except KafkaError as exc:
            raise BrokerError(f"topic administration on {bootstrap_servers} failed: {exc}") from exc
    for name, partitions in existing.items():
        if partitions != wanted[name]:
            logger.warning(
                "topic %s exists with %d partitions (configured: %d); left unchanged",
                name,
                partitions,
                wanted[name],
            )
    return TopicReport(
        created=tuple(TopicInfo(name, n) for name, n in sorted(missing.items())),
        existing=tuple(TopicInfo(name, n) for name, n in sorted(existing.items())),
    )


def list_topics(bootstrap_servers: str, *, timeout_s: float = 10.0) -> tuple[TopicInfo, ...]:
    """Every non-internal topic on the broker with its partition count, sorted by name."""
    with admin_client(bootstrap_servers, timeout_s=timeout_s) as client:
        try:
            described = client.describe_topics()
        except KafkaError as exc:
            raise BrokerError(f"listing topics on {bootstrap_servers} failed: {exc}") from exc
    return tuple(
        sorted(
            (
                TopicInfo(t["name"], len(t.get("partitions") or []))
                for t in described
                if not t.get("is_internal") and t.get("error_code", 0) == 0
            ),
            key=lambda t: t.name,
        )
    )


def _partition_counts(client: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition counts of those of ``names`` that exist."""
    described: list[dict[str, Any]] = client.describe_topics(names)
    return {
        t["name"]: len(t.get("partitions") or [])
        for t in described
        if t.get("error_code", 0) == 0 and t.get("partitions")
    }


def _create(client: KafkaAdminClient, missing: dict[str, int], timeout_s: float) -> None:
    request = {name: {"num_partitions": n, "replication_factor": 1} for name, n in missing.items()}
    response = client.create_topics(request, timeout_ms=int(timeout_s * 1000), raise_errors=False)
    refused = {
        topic["name"]: kafka_errors.for_code(topic["error_code"]).__name__
        for topic in response["topics"]
        if topic["error_code"] not in (0, kafka_errors.TopicAlreadyExistsError.errno)
    }
    if refused:
        raise BrokerError(f"the broker refused to create topics: {refused}")
    client.wait_for_topics(list(missing), timeout_ms=int(timeout_s * 1000))
    logger.info("created topics %s", ", ".join(f"{n} ({p})" for n, p in sorted(missing.items())))


__all__ = ["ALERT_CATEGORIES", "ensure_topics", "list_topics", "product_topics"]
