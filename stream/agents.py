"""The scoring agent: batch flows, run the core, publish, and only then acknowledge.

Delivery is at least once. Per batch, in this order:

1. take up to ``stream.batch_size`` messages (or what arrived within ``stream.batch_within_s``)
   with ``Stream.noack_take``, which leaves acknowledging to us;
2. score them with the model in the slot (a swap lands between batches);
3. publish alerts and dead letters and wait until the broker acknowledged every one (a batch
   whose delivery failed for a transient reason, the broker or a topic away, is sent again for
   up to ``stream.publish_retry_s``);
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

from iotad.kafka_security import aiokafka_options
from iotad.schemas.labels import Category
from iotad.stream.core.pipeline import BatchOutcome
from iotad.stream.core.types import InboundMessage
from iotad.stream.publish import BatchPublisher, Submitted
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
) -> list[Submitted]:
    """Queue a batch's alerts and dead letters; futures complete when the broker has them."""
    topics = runtime.topics
    submitted = await publisher.submit(topics.alerts, ((a.key, a.value) for a in outcome.alerts))
    if topics.per_category_alerts:
        by_category: dict[Category, list[tuple[bytes | None, bytes]]] = {}
        for alert in outcome.alerts:
            by_category.setdefault(alert.category, []).append((alert.key, alert.value))
        for category, records in by_category.items():
            submitted += await publisher.submit(topics.category_topic(category), records)
    submitted += await publisher.submit(
        topics.dead_letters, ((d.key, d.value) for d in outcome.dead_letters)
    )
    return submitted


def transient(exc: BaseException) -> bool:
    """True for a delivery failure that a later attempt can overcome (broker or leader away,
    topic missing for now, request timed out)."""
    from aiokafka.errors import KafkaError, KafkaTimeoutError

    return isinstance(exc, KafkaTimeoutError) or (
        isinstance(exc, KafkaError) and bool(exc.retriable)
    )


async def await_delivery(
    publisher: BatchPublisher, submitted: list[Submitted], runtime: WorkerRuntime
) -> None:
    """Wait until the broker acknowledged every batch; send failed ones again while the
    failure is :func:`transient`, for up to ``stream.publish_retry_s``, then raise it.

    Only batches that failed are sent again, so a batch's records reach the broker once unless a
    lost acknowledgement makes the producer repeat them.
    """
    retry_s = runtime.settings.stream.publish_retry_s
    deadline = time.monotonic() + retry_s
    attempt = 0
    while submitted:
        results = await asyncio.gather(*(s.future for s in submitted), return_exceptions=True)
        failed = [
            (s, r) for s, r in zip(submitted, results, strict=True) if isinstance(r, BaseException)
        ]
        if not failed:
            return
        error = failed[0][1]
        if not transient(error) or time.monotonic() >= deadline:
            raise error
        attempt += 1
        delay = min(0.5 * attempt, 5.0)
        logger.warning(
            "%d output batches not delivered (%r); sending them again in %.1fs (attempt %d; "
            "the worker gives up after stream.publish_retry_s = %.0fs)",
            len(failed), error, delay, attempt, retry_s,
            extra={"topic": sorted({s.topic for s, _ in failed})},
        )  # fmt: skip
        await asyncio.sleep(delay)
        runtime.metrics.output_resent.inc(len(failed))
        submitted = [again for s, _ in failed for again in await publisher.resubmit(s)]


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
        submitted = await publish_outcome(publisher, outcome, runtime)
        await await_delivery(publisher, submitted, runtime)
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
        acks="all",
        linger_ms=settings.stream.producer_linger_ms,
        max_batch_size=settings.stream.producer_batch_bytes,
        max_request_size=max(settings.stream.producer_batch_bytes, 1_048_576),
        **aiokafka_options(settings.kafka, "worker-output"),
    )


def register_scoring_agent(app: Any, runtime: WorkerRuntime, flows: Any) -> Any:
    """Add the scoring agent to ``app`` (one actor; scale out with more workers)."""
    import mode

    stream_settings = runtime.settings.stream

    async def score_flows(stream: Any) -> None:
        producer = output_producer(runtime)
        await producer.start()
        publisher = BatchPublisher(
            producer, max_cached_keys=stream_settings.producer_key_cache_size
        )
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
    "await_delivery",
    "batch_extra",
    "handle_batch",
    "output_producer",
    "publish_outcome",
    "record_outcome",
    "register_scoring_agent",
    "transient",
]
