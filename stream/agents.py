"""The scoring agent: batch flows, run the core, publish, and only then acknowledge.

Delivery is at least once. Per batch, in this order:

1. take up to ``stream.batch_size`` messages (or what arrived within ``stream.batch_within_s``)
   with ``Stream.noack_take``, which leaves acknowledging to us;
2. score them with the model in the slot (a swap lands between batches);
3. publish alerts and dead letters and wait until the broker acknowledged every one;
4. ack the batch's events, then commit offsets.

Faust's plain ``take()`` acks a batch's events in a ``finally`` block, which also runs when the
agent raises; the batch would then be committed without its alerts. ``noack_take`` plus an
explicit ack after step 3 means an offset is committed only for messages whose output is on the
broker. An unexpected exception is logged with the batch's offsets and re-raised; the agent's
crashing supervisor stops the worker, which restarts from the last commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from iotad.schemas.labels import Category
from iotad.stream.core.pipeline import BatchOutcome
from iotad.stream.core.types import InboundMessage
from iotad.stream.publish import BatchPublisher
from iotad.stream.runtime import WorkerRuntime

logger = logging.getLogger(__name__)


def batch_extra(messages: Sequence[InboundMessage]) -> dict[str, Any]:
    """Structured log fields naming a batch: topic and each partition's offset range."""
    spans: dict[int, list[int]] = {}
    for m in messages:
        span = spans.setdefault(m.partition, [m.offset, m.offset])
        span[0], span[1] = min(span[0], m.offset), max(span[1], m.offset)
    return {
        "topic": messages[0].topic if messages else None,
        "partition": sorted(spans),
        "offset": {str(p): f"{lo}-{hi}" for p, (lo, hi) in sorted(spans.items())},
        "messages": len(messages),
    }


async def publish_outcome(
    publisher: BatchPublisher, outcome: BatchOutcome, runtime: WorkerRuntime
) -> list[asyncio.Future[Any]]:
    """Queue a batch's alerts and dead letters; futures complete when the broker has them."""
    topics = runtime.topics
    futures = await publisher.publish(topics.alerts, ((a.key, a.value) for a in outcome.alerts))
    if topics.per_category_alerts:
        by_category: dict[Category, list[tuple[bytes | None, bytes]]] = {}
        for alert in outcome.alerts:
            by_category.setdefault(alert.category, []).append((alert.key, alert.value))
        for category, records in by_category.items():
            futures += await publisher.publish(topics.category_topic(category), records)
    futures += await publisher.publish(
        topics.dead_letters, ((d.key, d.value) for d in outcome.dead_letters)
    )
    return futures


def _log_dead_letters(outcome: BatchOutcome) -> None:
    for letter in outcome.dead_letters:
        logger.warning(
            "dead-lettered %s: %s",
            letter.code.value,
            letter.reason,
            extra={
                "topic": letter.source.topic,
                "partition": letter.source.partition,
                "offset": letter.source.offset,
                "index": letter.index,
                "error_code": letter.code.value,
            },
        )


def record_outcome(runtime: WorkerRuntime, outcome: BatchOutcome, acked_at: float) -> None:
    """Update metrics after a batch's output was acknowledged by the broker."""
    m = runtime.metrics
    m.messages_in.inc(outcome.messages)
    m.flows_in.inc(outcome.flows)
    m.flows_scored.inc(outcome.scored)
    m.benign.inc(outcome.benign)
    m.uncertain.inc(outcome.uncertain)
    m.normal.inc(outcome.normal)
    m.baseline_seconds.observe(outcome.baseline_seconds)
    m.batch_flows.observe(outcome.scored)
    m.scoring_seconds.observe(outcome.score_seconds)
    m.batch_seconds.observe(outcome.core_seconds)
    counts: dict[str, int] = {}
    for alert in outcome.alerts:
        counts[alert.category.value] = counts.get(alert.category.value, 0) + 1
    for category, n in counts.items():
        m.alerts.labels(category=category).inc(n)
    for category, n in outcome.suppressed.items():
        m.alerts_suppressed.labels(category=category.value).inc(n)
    for letter in outcome.dead_letters:
        m.dead_letters.labels(reason=letter.code.value).inc()
    if outcome.alerts:
        event_ms = np.fromiter((a.event_time_ms for a in outcome.alerts), dtype=np.float64)
        m.event_to_alert.observe(np.maximum(acked_at - event_ms / 1000.0, 0.0))


async def handle_batch(
    events: Sequence[Any], stream: Any, app: Any, runtime: WorkerRuntime, publisher: BatchPublisher
) -> None:
    """Score, publish and acknowledge one batch of Faust events (see the module docstring)."""
    loaded = runtime.slot.current  # the swap point: this batch finishes on this model
    messages = [
        InboundMessage(
            e.value, e.message.topic, e.message.partition, e.message.offset, e.message.key
        )
        for e in events
    ]
    try:
        outcome = await runtime.score(messages, loaded)
        futures = await publish_outcome(publisher, outcome, runtime)
        if futures:
            await asyncio.gather(*futures)
    except Exception:
        logger.exception(
            "batch of %d messages failed; not acknowledged, it will be read again",
            len(messages),
            extra=batch_extra(messages),
        )
        raise
    acked_at = time.time()
    for event in events:
        await stream.ack(event)
    if not await app.consumer.commit():
        # commit() returns False without committing when it only waited for a commit that was
        # already running; commit again so this batch's offsets are on the broker now.
        await app.consumer.commit()
    runtime.metrics.commit_seconds.observe(time.time() - acked_at)
    for m in messages:
        key = (m.topic, m.partition)
        runtime.next_offsets[key] = max(runtime.next_offsets.get(key, 0), m.offset + 1)
    _log_dead_letters(outcome)
    record_outcome(runtime, outcome, acked_at)
    runtime.after_batch(outcome, loaded)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "batch scored by %s: %d flows, %d alerts, %d benign, %d dead letters",
            loaded.manifest.reference,
            outcome.scored,
            len(outcome.alerts),
            outcome.benign,
            len(outcome.dead_letters),
            extra=batch_extra(messages),
        )


def output_producer(runtime: WorkerRuntime) -> Any:
    """The worker's own producer for alerts and dead letters (acks from all replicas)."""
    from aiokafka import AIOKafkaProducer

    settings = runtime.settings
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        client_id=f"{settings.kafka.client_id}-worker-output",
        acks="all",
        linger_ms=settings.stream.producer_linger_ms,
        max_batch_size=settings.stream.producer_batch_bytes,
        max_request_size=max(settings.stream.producer_batch_bytes, 1_048_576),
        request_timeout_ms=int(settings.kafka.request_timeout_s * 1000),
    )


def register_scoring_agent(app: Any, runtime: WorkerRuntime, flows: Any) -> Any:
    """Add the scoring agent to ``app`` (one actor; scale out with more workers)."""
    import mode

    stream_settings = runtime.settings.stream

    async def score_flows(stream: Any) -> None:
        producer = output_producer(runtime)
        await producer.start()
        publisher = BatchPublisher(producer)
        try:
            async for events in stream.noack_take(
                stream_settings.batch_size, within=stream_settings.batch_within_s
            ):
                await handle_batch(events, stream, app, runtime, publisher)
        finally:
            await producer.stop()

    return app.agent(flows, name="iotad.score_flows", supervisor_strategy=mode.CrashingSupervisor)(
        score_flows
    )


__all__ = [
    "batch_extra",
    "handle_batch",
    "output_producer",
    "publish_outcome",
    "record_outcome",
    "register_scoring_agent",
]
