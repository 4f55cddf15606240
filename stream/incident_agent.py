"""The incident agent: alerts topic → pure core → incidents topic, state in a Faust table.

Where it runs: in the scoring worker's own Faust app, as a second agent that reads the alerts
topic in the same consumer group. Alerts are keyed by category, so every alert of one incident
key (gateway, category, host) is on the same alerts partition: the incident key refines the
topic's key, the stream is already partitioned the way the table must be, and no re-keying
(``group_by``) and no repartition topic are needed. The table ``incidents`` has
``topics.partitions`` partitions and its changelog partition *p* holds the incidents of alerts
partition *p*; Faust assigns both to the same worker and replays the changelog into the table
before the agent reads again (after a restart, kill -9 included, or a rebalance).

Per batch of alerts (at least once, as the scoring agent): fold them into the
:class:`~iotad.stream.core.incident.IncidentBook` (the decoded working copy of the table), write
each changed incident once to the table and its changelog, publish the incident events, wait
until the broker acknowledged both, and only then acknowledge and commit the alerts. A timer
(``incidents.tick_s``) closes quiet incidents and sends updates held back by the rate limit.
The changelog is written with an explicit partition (the alert's), because a batch spans
partitions and a timer has no current event, which Faust's ``table[key] = value`` needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from iotad.errors import SchemaError
from iotad.schemas.messages import Alert
from iotad.settings import IncidentSettings
from iotad.stream.agents import output_producer
from iotad.stream.core.incident import (
    AlertPosition,
    IncidentBook,
    IncidentChanges,
    IncidentPolicy,
    fold,
    tick,
)
from iotad.stream.core.incident_state import decode_state, encode_state
from iotad.stream.publish import BatchPublisher
from iotad.stream.runtime import WorkerRuntime

logger = logging.getLogger(__name__)

TABLE_NAME = "incidents"


def incident_policy(settings: IncidentSettings) -> IncidentPolicy:
    """The core's policy from the ``incidents`` settings."""
    return IncidentPolicy(
        window_ms=int(settings.window_s * 1000),
        quiet_ms=int(settings.quiet_s * 1000),
        update_every_ms=int(settings.update_every_s * 1000),
        max_open=settings.max_open,
        max_hosts=settings.max_hosts,
        top_hosts=settings.top_hosts,
        sample_alerts=settings.sample_alerts,
        min_alerts=settings.min_alerts,
    )


class IncidentService:
    """One worker's incidents: the book, its table, and what publishes their changes."""

    def __init__(self, app: Any, runtime: WorkerRuntime, table: Any) -> None:
        self.app = app
        self.runtime = runtime
        self.table = table
        self.policy = incident_policy(runtime.settings.incidents)
        self.book = IncidentBook()
        self.publisher: BatchPublisher | None = None
        self._lock = asyncio.Lock()
        self._metrics = runtime.metrics.incidents

    def restore(self, partitions: set[int]) -> None:
        """Rebuild the book from the table (after its changelog was replayed into it)."""
        states = []
        for key, raw in list(self.table.data.items()):
            try:
                state = decode_state(raw)
            except SchemaError as exc:
                self._metrics.restore_errors.inc()
                logger.error("incident table key %r dropped: %s", key, exc)
                self.table.data.pop(key, None)
                continue
            if state.partition in partitions:
                states.append(state)
        self.book = IncidentBook.of(states)
        self._metrics.open.set(len(self.book.open))
        logger.info(
            "incidents restored: %d open on alerts partitions %s", len(states), sorted(partitions)
        )

    def forget(self, partitions: set[int]) -> None:
        """Drop the incidents of partitions this worker no longer owns (a rebalance)."""
        for key, state in list(self.book.open.items()):
            if state.partition in partitions:
                del self.book.open[key]
                self.table.data.pop(key.encode(), None)
        self._metrics.open.set(len(self.book.open))

    async def fold_batch(self, events: Sequence[Any]) -> list[asyncio.Future[Any]]:
        """Fold a batch of alert events; the futures of its table and topic writes."""
        changes = IncidentChanges()
        invalid = 0
        async with self._lock:
            for event in events:
                message = event.message
                try:
                    alert = Alert.model_validate_json(event.value or b"")
                except ValidationError as exc:
                    invalid += 1
                    logger.warning(
                        "not an iotad.alert.v1 message, skipped: %s",
                        exc.errors()[0]["msg"],
                        extra={
                            "topic": message.topic,
                            "partition": message.partition,
                            "offset": message.offset,
                        },
                    )
                    continue
                fold(self.book, alert, AlertPosition(message.partition, message.offset),
                     self.policy, changes)  # fmt: skip
            futures = await self._apply(changes)
        m = self._metrics
        m.alerts.labels(outcome="folded").inc(changes.folded)
        m.alerts.labels(outcome="skipped").inc(changes.skipped)
        m.alerts.labels(outcome="invalid").inc(invalid)
        m.alerts_per_minute.add(changes.folded + changes.skipped)
        return futures

    async def tick(self, now_ms: int) -> list[asyncio.Future[Any]]:
        """Close quiet incidents and send held-back updates; futures of the writes."""
        if self.publisher is None or getattr(self.app, "rebalancing", False):
            return []
        async with self._lock:
            return await self._apply(tick(self.book, now_ms, self.policy))

    async def _apply(self, changes: IncidentChanges) -> list[asyncio.Future[Any]]:
        """Mirror ``changes`` into the table and its changelog, and publish the events."""
        futures: list[asyncio.Future[Any]] = []
        for key, partition in changes.removed.items():
            raw_key = key.encode()
            self.table.data.pop(raw_key, None)
            futures.append(self.table.send_changelog(partition, raw_key, None))
        for key, state in changes.written.items():
            raw_key, value = key.encode(), encode_state(state)
            self.table.data[raw_key] = value
            futures.append(self.table.send_changelog(state.partition, raw_key, value))
        if changes.events:
            if self.publisher is None:
                raise RuntimeError("the incident agent publishes before its producer started")
            records = [
                (e.incident_id.encode(), e.model_dump_json().encode()) for e in changes.events
            ]
            futures += await self.publisher.publish(self.runtime.topics.incidents, records)
        m = self._metrics
        for event in changes.events:
            m.events.labels(event=event.event.value, category=event.category).inc()
        for category, n in changes.evicted.items():
            m.evicted.labels(category=category).inc(n)
            logger.warning(
                "%d %s incidents closed early: incidents.max_open (%d) were open",
                n, category, self.policy.max_open,
            )  # fmt: skip
        m.alerts.labels(outcome="below_threshold").inc(changes.below_threshold)
        m.incidents_per_minute.add(len(changes.events))
        m.open.set(len(self.book.open))
        return futures


async def handle_alert_batch(
    service: IncidentService, events: Sequence[Any], stream: Any, app: Any
) -> None:
    """Fold, write, publish, wait for the broker, then acknowledge and commit the alerts."""
    try:
        futures = await service.fold_batch(events)
        if futures:
            await asyncio.gather(*futures)
    except Exception:
        first = events[0].message if events else None
        logger.exception(
            "incident batch of %d alerts failed; not acknowledged, it will be read again",
            len(events),
            extra={
                "topic": getattr(first, "topic", None),
                "offset": getattr(first, "offset", None),
            },
        )
        raise
    for event in events:
        await stream.ack(event)
    await app.consumer.commit()


def active_alert_partitions(app: Any, alerts_topic: str) -> set[int]:
    """The alerts-topic partitions assigned to this worker."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == alerts_topic}


def register_incident_agent(app: Any, runtime: WorkerRuntime, alerts: Any) -> IncidentService:
    """Add the incident table, agent and timer to ``app``; the service they share."""
    import mode

    settings = runtime.settings
    table = app.Table(
        TABLE_NAME,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.topics.partitions,
        help="Open incidents by key (iotad.stream.core.incident_state, JSON).",
    )
    service = IncidentService(app, runtime, table)
    topic_name = runtime.topics.alerts

    async def restored() -> None:
        service.restore(active_alert_partitions(app, topic_name))

    table.on_recover(restored)

    async def revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        service.forget({tp.partition for tp in revoked if tp.topic == topic_name})

    app.on_partitions_revoked.connect(revoked)

    async def fold_incidents(stream: Any) -> None:
        producer = output_producer(runtime)
        await producer.start()
        service.publisher = BatchPublisher(producer)
        try:
            async for events in stream.noack_take(
                settings.stream.batch_size, within=settings.stream.batch_within_s
            ):
                await handle_alert_batch(service, events, stream, app)
        finally:
            service.publisher = None
            await producer.stop()

    app.agent(alerts, name="iotad.incidents", supervisor_strategy=mode.CrashingSupervisor)(
        fold_incidents
    )

    async def close_quiet() -> None:
        futures = await service.tick(int(time.time() * 1000))
        if futures:
            await asyncio.gather(*futures)

    app.timer(settings.incidents.tick_s)(close_quiet)
    return service


__all__ = [
    "TABLE_NAME",
    "IncidentService",
    "active_alert_partitions",
    "handle_alert_batch",
    "incident_policy",
    "register_incident_agent",
]
