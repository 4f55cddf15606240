"""Follow the alert topic(s) and hand each valid :class:`Alert` to a callback (`iotad alerts tail`).

The tail reads without a consumer group: it assigns itself every partition of the topics and
starts at their end (only new alerts) or, with ``from_beginning``, at their start. Messages that
are not valid ``iotad.alert.v1`` JSON are reported with topic/partition/offset and skipped.
With ``--incidents`` the same loop follows the incidents topic and hands on each valid
:class:`~iotad.schemas.incidents.Incident` event instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from iotad.broker.admin import require_listener
from iotad.errors import BrokerError, ConfigError
from iotad.schemas.incidents import Incident
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert
from iotad.settings import Settings

logger = logging.getLogger(__name__)

_POLL_MS = 200

#: What a tail hands on: an alert, or an incident event (both carry a category).
Shown = TypeVar("Shown", Alert, Incident)


@dataclass(frozen=True)
class AlertRecord:
    """Where an alert was read from."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class TailOptions:
    """What to follow and when to stop.

    ``categories`` (empty: all) filters by :class:`Category`; ``max_alerts`` stops after that
    many alerts were shown; ``idle_timeout_s`` stops after that long without a new alert.
    """

    topics: tuple[str, ...]
    categories: frozenset[Category] = frozenset()
    from_beginning: bool = False
    max_alerts: int | None = None
    idle_timeout_s: float | None = None


@dataclass
class TailSummary:
    """What a tail saw."""

    shown: int = 0
    invalid: int = 0
    filtered_out: int = 0
    stopped_by: str = "stop requested"


def parse_categories(names: list[str]) -> frozenset[Category]:
    """Categories from names or slugs, any case (``ddos``, ``DDoS``, ``bruteforce``…).

    Raises
    ------
    ConfigError
        naming the unknown ones and the valid choices.
    """
    by_name = {c.value.lower(): c for c in Category}
    unknown = [n for n in names if n.strip().lower() not in by_name]
    if unknown:
        raise ConfigError(
            f"unknown alert categories {unknown}; choose from {[c.value for c in Category]}"
        )
    return frozenset(by_name[n.strip().lower()] for n in names)


def alert_topics(settings: Settings, categories: frozenset[Category]) -> tuple[str, ...]:
    """The topics to follow: the per-category topics if the product writes them, else the
    alert topic (then categories are filtered on the messages)."""
    if categories and settings.topics.per_category_alerts:
        return tuple(sorted(settings.topics.alert_topic_for(c.slug) for c in categories))
    return (settings.topics.alerts,)


def decode_alert(value: bytes) -> Alert | str:
    """The alert, or why the bytes are not a valid ``iotad.alert.v1`` message."""
    return _decode(Alert, value)


def decode_incident(value: bytes) -> Incident | str:
    """The incident event, or why the bytes are not a valid ``iotad.incident.v1`` message."""
    return _decode(Incident, value)


ModelT = TypeVar("ModelT", bound=BaseModel)


def _decode(model: type[ModelT], value: bytes) -> ModelT | str:
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        errors = exc.errors()
        shown = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in errors[:3]
        )
        return shown + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")


def tail_alerts(
    settings: Settings,
    options: TailOptions,
    on_alert: Callable[[Alert, AlertRecord], None],
    on_invalid: Callable[[str, AlertRecord], None],
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> TailSummary:
    """Follow ``options.topics`` until ``stop``, ``max_alerts`` or the idle timeout.

    Raises
    ------
    BrokerError
        when the broker cannot be reached or a topic does not exist.
    """
    return tail_messages(
        settings, options, decode_alert, on_alert, on_invalid, stop=stop, on_ready=on_ready
    )


def tail_incidents(
    settings: Settings,
    options: TailOptions,
    on_incident: Callable[[Incident, AlertRecord], None],
    on_invalid: Callable[[str, AlertRecord], None],
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> TailSummary:
    """Follow the incidents topic (``options.topics``) like :func:`tail_alerts`.

    Raises
    ------
    BrokerError
        when the broker cannot be reached or the topic does not exist.
    """
    return tail_messages(
        settings, options, decode_incident, on_incident, on_invalid, stop=stop, on_ready=on_ready
    )


def tail_messages(
    settings: Settings,
    options: TailOptions,
    decode: Callable[[bytes], Shown | str],
    on_message: Callable[[Shown, AlertRecord], None],
    on_invalid: Callable[[str, AlertRecord], None],
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> TailSummary:
    """Follow ``options.topics``, decode each message and hand on the valid ones.

    Raises
    ------
    BrokerError
        when the broker cannot be reached or a topic does not exist.
    """
    stop = stop or threading.Event()
    consumer = _consumer(settings, options)
    summary = TailSummary()
    try:
        if on_ready is not None:
            on_ready()
        last_alert = time.monotonic()
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=_POLL_MS).values():
                for record in records:
                    where = AlertRecord(record.topic, record.partition, record.offset)
                    shown = _handle(
                        decode(record.value or b""), where, options, summary, on_message, on_invalid
                    )
                    if shown:
                        last_alert = time.monotonic()
                    if options.max_alerts is not None and summary.shown >= options.max_alerts:
                        summary.stopped_by = f"{options.max_alerts} alerts shown"
                        return summary
            idle = time.monotonic() - last_alert
            if options.idle_timeout_s is not None and idle >= options.idle_timeout_s:
                summary.stopped_by = f"no alert for {options.idle_timeout_s:g}s"
                return summary
        return summary
    finally:
        consumer.close()


def _handle(
    alert: Shown | str,
    where: AlertRecord,
    options: TailOptions,
    summary: TailSummary,
    on_alert: Callable[[Shown, AlertRecord], None],
    on_invalid: Callable[[str, AlertRecord], None],
) -> bool:
    """Route one decoded message; True when it was shown."""
    if isinstance(alert, str):
        summary.invalid += 1
        on_invalid(alert, where)
        return False
    if options.categories and alert.category.lower() not in {
        c.value.lower() for c in options.categories
    }:
        summary.filtered_out += 1
        return False
    summary.shown += 1
    on_alert(alert, where)
    return True


def _consumer(settings: Settings, options: TailOptions) -> KafkaConsumer:
    servers = settings.kafka.bootstrap_servers
    require_listener(servers)
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=servers,
            client_id=f"{settings.kafka.client_id}-alerts-tail",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if options.from_beginning else "latest",
            request_timeout_ms=int(settings.kafka.request_timeout_s * 1000),
        )
    except KafkaError as exc:
        raise BrokerError(f"cannot read from {servers}: {exc}") from exc
    try:
        partitions = _partitions(consumer, options.topics, servers)
        consumer.assign(partitions)
        for partition in partitions:  # fix the start offsets now: "ready" means ready
            consumer.position(partition)
    except (KafkaError, BrokerError):
        consumer.close()
        raise
    return consumer


def _partitions(
    consumer: KafkaConsumer, topics: tuple[str, ...], servers: str
) -> list[TopicPartition]:
    partitions: list[TopicPartition] = []
    for topic in topics:
        ids = consumer.partitions_for_topic(topic)
        if not ids:
            raise BrokerError(
                f"topic {topic!r} does not exist on {servers}",
                hint="create the topics with `iotad kafka topics --create`",
            )
        partitions.extend(TopicPartition(topic, p) for p in sorted(ids))
    return partitions


__all__ = [
    "AlertRecord",
    "TailOptions",
    "TailSummary",
    "alert_topics",
    "decode_alert",
    "decode_incident",
    "parse_categories",
    "tail_alerts",
    "tail_incidents",
    "tail_messages",
]
