"""Small Kafka helpers for integration tests: unique names, produce and drain a topic."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

from kafka import KafkaConsumer, KafkaProducer

from iotad.settings import Settings

#: ``make_topic(prefix, partitions=1) -> name`` (fixture in tests/conftest.py).
MakeTopic = Callable[..., str]
#: ``isolated_settings(partitions=2, **overrides) -> Settings`` (fixture in tests/conftest.py).
IsolatedSettings = Callable[..., Settings]


def unique_name(prefix: str) -> str:
    """``<prefix>.<12 hex digits>``: a topic or group name no other test uses."""
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None]],
    *,
    flush_timeout_s: float = 30.0,
) -> int:
    """Send ``(key, value)`` pairs and wait until all are acknowledged; how many were sent.

    A ``None`` value is a tombstone. ``flush_timeout_s`` bounds the wait for each produce batch.
    """
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        count = 0
        for key, value in messages:
            producer.send(topic, key=key, value=value)
            count += 1
        producer.flush(timeout=flush_timeout_s)
    finally:
        producer.close(timeout=10)
    return count


def _reader(bootstrap: str, topic: str) -> KafkaConsumer:
    """A consumer of ``topic`` from its beginning, in a group of its own, committing nothing."""
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=unique_name("test-reader"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )


def consume_all(
    bootstrap: str,
    topic: str,
    *,
    expected: int | None = None,
    idle_s: float = 5.0,
    timeout_s: float = 90.0,
) -> list[tuple[bytes | None, bytes]]:
    """Every ``(key, value)`` on ``topic``, read from the beginning with a fresh group.

    Returns once ``expected`` messages arrived; without ``expected``, once no new message came
    for ``idle_s``. Never waits longer than ``timeout_s``.
    """
    consumer = _reader(bootstrap, topic)
    received: list[tuple[bytes | None, bytes]] = []
    started = last_new = time.monotonic()
    try:
        while time.monotonic() - started < timeout_s:
            if expected is not None and len(received) >= expected:
                break
            if expected is None and time.monotonic() - last_new > idle_s:
                break
            for records in consumer.poll(timeout_ms=500).values():
                received.extend((r.key, r.value) for r in records)
                last_new = time.monotonic()
    finally:
        consumer.close()
    return received


def read_records(
    bootstrap: str, topic: str, *, expected: int, timeout_s: float = 120.0
) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """``(partition, offset, key, value)`` of the first ``expected`` records of ``topic``.

    Stops as soon as ``expected`` records arrived, or after ``timeout_s`` with what came.
    """
    consumer = _reader(bootstrap, topic)
    received: list[tuple[int, int, bytes | None, bytes | None]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(received) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                received.extend((r.partition, r.offset, r.key, r.value) for r in records)
    finally:
        consumer.close()
    return received
