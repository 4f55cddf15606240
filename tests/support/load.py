"""Load and accounting for fault tests: a paced envelope feeder and a ledger of what came out.

* :class:`EnvelopeFeeder` sends ``iotad.flow_batch.v1`` envelopes at a fixed flow rate (default
  6,000 flows/s) from a thread, mixes in a bad message every ``bad_every`` envelopes, and records
  what the broker acknowledged: the flow ids and the bad messages' markers.
* :func:`read_outcome` reads the alerts and dead-letter topics from the beginning until every
  acknowledged flow has an alert and every bad message a dead letter (bounded), then to the end
  offsets of that moment, and returns an :class:`Outcome` to check with :func:`assert_accounted`.

Alerts are matched by ``flow_id`` (coverage) and counted by ``alert_id`` (duplicates): the id is
derived from the source offset and the model, so a flow scored twice from the same offset gives
the same id twice, whereas a flow the feeder had to send again (a failed send that may have
landed) sits at another offset and is not counted as a worker duplicate.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from iotad.schemas.features import FEATURES_39, FeatureLayout
from support.bundles import synthetic_rows

BAD_KINDS = ("undecodable", "schema", "columns")


def bad_message(kind: str, marker: str) -> bytes:
    """A message the worker must dead-letter, carrying ``marker`` in its bytes."""
    if kind == "undecodable":
        return b'{"schema": "iotad.flow.v1", ' + marker.encode()
    if kind == "schema":
        return orjson.dumps({"schema": "iotad.flow.v1", "gateway_id": "gw", "flow_id": marker})
    return orjson.dumps(
        {"schema": "iotad.flow_batch.v1", "gateway_id": "gw", "count": 3,
         "device_id": ["d"], "event_time_ms": [1], "flow_id": [marker],
         "features": {name: [1.0] for name in FEATURES_39}}
    )  # fmt: skip


class EnvelopeFeeder(threading.Thread):
    """Sends envelopes of ``envelope`` flows at ``rate`` flows/s until :meth:`halt`."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        rate: float = 6000.0,
        envelope: int = 200,
        bad_every: int = 25,
        classes: tuple[str, ...] = ("DDoS", "Recon"),
    ) -> None:
        super().__init__(daemon=True, name="envelope-feeder")
        self.topic = topic
        self.rate = rate
        self.envelope = envelope
        self.bad_every = bad_every
        self.tag = uuid.uuid4().hex[:8]
        rows, _ = synthetic_rows(envelope, FeatureLayout.CIC39, classes, seed=7)
        self._columns = {
            name: rows[:, c].astype(float).tolist() for c, name in enumerate(FEATURES_39)
        }
        self._devices = [f"dev-{i % 16}" for i in range(envelope)]
        self._servers = bootstrap
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._was_running = False
        self._answered = 0
        self.active_s = 0.0
        self.blocked_s = 0.0
        self.acked_flows: set[str] = set()
        self.acked_bad: dict[str, str] = {}  # marker -> kind
        self.failed_sends: list[str] = []
        self.flows_offered = 0
        self._sends = 0
        self.first_send = self.last_send = 0.0

    # --- what was sent -----------------------------------------------------------------------

    def _envelope(self, k: int) -> tuple[bytes, list[str]]:
        ids = [f"{self.tag}-{k}-{j}" for j in range(self.envelope)]
        now = int(time.time() * 1000)
        document = {
            "schema": "iotad.flow_batch.v1", "gateway_id": "gw-load", "count": self.envelope,
            "device_id": self._devices, "event_time_ms": [now] * self.envelope,
            "flow_id": ids, "features": self._columns,
        }  # fmt: skip
        return orjson.dumps(document), ids

    def _record(self, ids: list[str], bad_kind: str | None, future: asyncio.Future[Any]) -> None:
        exc = future.exception()
        with self._lock:
            self._answered += 1
            if exc is not None:
                self.failed_sends.append(f"{ids[0]}: {exc!r}")
            elif bad_kind is None:
                self.acked_flows.update(ids)
            else:
                self.acked_bad[ids[0]] = bad_kind

    async def _send(self, producer: Any, value: bytes, ids: list[str], bad: str | None) -> None:
        key = f"gw-{self._sends % 8}".encode()
        began = time.monotonic()
        future = await producer.send(self.topic, value, key=key)
        waited = time.monotonic() - began
        if waited > 0.1:  # the broker is away: the producer's buffer waits for it
            self.blocked_s += waited
        future.add_done_callback(functools.partial(self._record, ids, bad))
        self._sends += 1

    async def _send_envelope(self, producer: Any, k: int) -> None:
        value, ids = self._envelope(k)
        await self._send(producer, value, ids, None)
        self.flows_offered += self.envelope
        if k % self.bad_every == self.bad_every // 2:
            kind = BAD_KINDS[(k // self.bad_every) % len(BAD_KINDS)]
            marker = f"bad-{self.tag}-{k}"
            await self._send(producer, bad_message(kind, marker), [marker], kind)
        now = time.monotonic()
        self.first_send = self.first_send or now
        self.active_s += now - self.last_send if self.last_send and self._was_running else 0.0
        self.last_send, self._was_running = now, True

    def run(self) -> None:
        asyncio.run(self._feed())

    async def _feed(self) -> None:
        from aiokafka import AIOKafkaProducer

        # Retries for as long as a test's fault lasts: a batch without a leader expires only
        # after request_timeout_ms.
        producer = AIOKafkaProducer(
            bootstrap_servers=self._servers, acks="all", linger_ms=2,
            request_timeout_ms=120_000, retry_backoff_ms=200,
            max_request_size=4 * 1024 * 1024, max_batch_size=1024 * 1024,
        )  # fmt: skip
        # While a test's broker is down, aiokafka logs every failed connection attempt.
        client_log = logging.getLogger("aiokafka")
        level = client_log.level
        client_log.setLevel(logging.CRITICAL)
        await producer.start()
        try:
            begin = time.monotonic()
            k = 0
            while not self._halt.is_set():
                if not self._running.is_set():
                    self._was_running = False
                    await asyncio.sleep(0.01)  # paused: no envelope is due
                    begin = time.monotonic() - k * self.envelope / self.rate
                    continue
                await asyncio.sleep(
                    max(0.0, begin + k * self.envelope / self.rate - time.monotonic())
                )
                blocked = self.blocked_s
                await self._send_envelope(producer, k)
                k += 1
                if self.blocked_s > blocked:
                    # The broker was away: go on at the rate from now (no burst to catch up),
                    # as the rate excludes the time sends waited.
                    begin = time.monotonic() - k * self.envelope / self.rate
            await producer.flush()
        finally:
            await producer.stop()
            client_log.setLevel(level)

    # --- control -----------------------------------------------------------------------------

    @property
    def offered_rate(self) -> float:
        """Flows/s handed to the producer while feeding: pauses, and the time a send waited for
        a broker that was away, do not count."""
        span = self.active_s - self.blocked_s
        return (self.flows_offered - self.envelope) / span if span > 0 else 0.0

    def pause(self, timeout_s: float = 60.0) -> None:
        """Stop sending until :meth:`resume`; returns once every send so far was answered."""
        self._running.clear()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                answered = self._answered
            if answered >= self._sends and not self._was_running:
                return
            time.sleep(0.02)
        raise AssertionError(f"{self._sends - self._answered} sends unanswered after {timeout_s}s")

    def resume(self) -> None:
        """Send again, at the same rate."""
        self._running.set()

    def acked_count(self) -> int:
        """Flows the broker has acknowledged so far."""
        with self._lock:
            return len(self.acked_flows)

    def wait_acked(self, at_least: int, timeout_s: float = 60.0) -> int:
        """Bounded poll until the broker acknowledged ``at_least`` flows in all."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            count = self.acked_count()
            if count >= at_least:
                return count
            time.sleep(0.05)
        raise AssertionError(f"the broker acknowledged {self.acked_count()} of {at_least} flows")

    def halt(self, timeout_s: float = 120.0) -> None:
        """Stop sending, wait until every send is acknowledged or failed (the producer is
        flushed and closed)."""
        self._halt.set()
        self.join(timeout_s)
        assert not self.is_alive(), f"the feeder did not stop within {timeout_s}s"


# --- what came out -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """Alerts and dead letters read back from the broker."""

    alert_ids: Counter[str] = field(default_factory=Counter)
    flows: set[str] = field(default_factory=set)
    dead_markers: Counter[str] = field(default_factory=Counter)
    dead_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def repeats(self) -> int:
        """Alerts read more than once from the same source (same alert_id), beyond the first."""
        return sum(n - 1 for n in self.alert_ids.values())

    def add_alert(self, value: bytes) -> None:
        alert = orjson.loads(value)
        self.alert_ids[alert["alert_id"]] += 1
        self.flows.add(alert["flow_id"])

    def add_dead_letter(self, value: bytes, markers: Iterable[str]) -> None:
        letter = orjson.loads(value)
        original = base64.b64decode(letter["original_b64"]).decode(errors="replace")
        self.dead_reasons[letter["error_code"]] += 1
        for marker in markers:
            if marker in original:
                self.dead_markers[marker] += 1


def _assigned_consumer(bootstrap: str, topics: Iterable[str]) -> KafkaConsumer:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    return consumer


def _take(consumer: KafkaConsumer, alerts: str, outcome: Outcome, markers: list[str]) -> None:
    for tp, records in consumer.poll(timeout_ms=300, max_records=20_000).items():
        for record in records:
            if tp.topic == alerts:
                outcome.add_alert(record.value)
            else:
                outcome.add_dead_letter(record.value, markers)


def _read_to_end(
    consumer: KafkaConsumer, alerts: str, outcome: Outcome, markers: list[str], timeout_s: float
) -> None:
    ends = consumer.end_offsets(list(consumer.assignment()))
    deadline = time.monotonic() + timeout_s
    while any(consumer.position(tp) < end for tp, end in ends.items()):
        assert time.monotonic() < deadline, f"could not read to the end offsets in {timeout_s}s"
        _take(consumer, alerts, outcome, markers)


def read_outcome(
    bootstrap: str,
    alerts: str,
    dead_letters: str,
    feeder: EnvelopeFeeder,
    *,
    timeout_s: float = 90.0,
    outcome: Outcome | None = None,
) -> Outcome:
    """Read both topics from the beginning until every acknowledged flow and bad message is
    accounted for (or ``timeout_s`` passes), then on to the end offsets of that moment.

    ``outcome``: what an earlier read found (of a topic since deleted and created again), added
    to: records on a recreated topic are all new.
    """
    outcome = outcome if outcome is not None else Outcome()
    markers = sorted(feeder.acked_bad)
    consumer = _assigned_consumer(bootstrap, (alerts, dead_letters))
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            _take(consumer, alerts, outcome, markers)
            if feeder.acked_flows <= outcome.flows and set(markers) <= set(outcome.dead_markers):
                break
        _read_to_end(consumer, alerts, outcome, markers, 30.0)
    finally:
        consumer.close()
    return outcome


def read_to_end(bootstrap: str, topic: str, feeder: EnvelopeFeeder, *, alerts: bool) -> Outcome:
    """Every alert (``alerts``) or else dead letter on ``topic`` now, up to its end offsets."""
    outcome = Outcome()
    consumer = _assigned_consumer(bootstrap, (topic,))
    try:
        _read_to_end(consumer, topic if alerts else "", outcome, sorted(feeder.acked_bad), 60.0)
    finally:
        consumer.close()
    return outcome


def end_offsets(bootstrap: str, topic: str) -> int:
    """The sum of ``topic``'s end offsets: how many records it holds (none deleted)."""
    consumer = _assigned_consumer(bootstrap, (topic,))
    try:
        return sum(consumer.end_offsets(list(consumer.assignment())).values())
    finally:
        consumer.close()


def assert_accounted(
    outcome: Outcome, feeder: EnvelopeFeeder, *, max_repeats: int, min_rate: float = 5000.0
) -> str:
    """Every acknowledged flow has an alert, every bad message a dead letter, repeats bounded,
    and the feed ran at ``min_rate`` flows/s or more; a one-line account of it."""
    assert not feeder.failed_sends, f"sends failed: {feeder.failed_sends[:3]}"
    missing = feeder.acked_flows - outcome.flows
    assert not missing, (
        f"{len(missing)} of {len(feeder.acked_flows)} flows lost: {sorted(missing)[:5]}"
    )
    lost_bad = set(feeder.acked_bad) - set(outcome.dead_markers)
    assert not lost_bad, f"bad messages without a dead letter: {sorted(lost_bad)}"
    assert outcome.repeats <= max_repeats, (
        f"{outcome.repeats} repeated alerts, more than {max_repeats} (one batch per fault)"
    )
    assert feeder.offered_rate >= min_rate, f"fed only {feeder.offered_rate:,.0f} flows/s"
    return (
        f"{len(feeder.acked_flows):,} flows fed at {feeder.offered_rate:,.0f} flows/s, all "
        f"alerted ({feeder.blocked_s:.1f} s of sends waited for the broker); "
        f"{outcome.repeats:,} repeats (bound {max_repeats:,}); "
        f"{len(feeder.acked_bad)} bad messages, all dead-lettered ({dict(outcome.dead_reasons)})"
    )


__all__ = [
    "BAD_KINDS",
    "EnvelopeFeeder",
    "Outcome",
    "assert_accounted",
    "bad_message",
    "end_offsets",
    "read_outcome",
    "read_to_end",
]
