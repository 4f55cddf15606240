"""Live windows to Kafka while the capture waits on the interface.

A live source blocks in a read until packets come, inside the capture loop's event loop; an
aiokafka producer on that loop would send nothing until the capture ends. :class:`ThreadedSink`
is the same :class:`~iotad.stream.replay.sink.FlowSink` built on kafka-python, whose producer
sends from its own thread, so windows reach the flows topic as they are made.
:class:`LiveRows` is the capture's :class:`~iotad.capture.outputs.KafkaRows` (same envelopes)
that also sends every device's partly filled envelope once ``linger_s`` has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from iotad.capture.core.types import FeatureRows
from iotad.capture.outputs import KafkaRows
from iotad.errors import BrokerError
from iotad.settings import Settings

logger = logging.getLogger(__name__)


class ThreadedSink:
    """A kafka-python producer on one topic, counting acknowledged and failed flows."""

    def __init__(self, settings: Settings, topic: str, *, client: str) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self.topic = topic
        servers = settings.kafka.bootstrap_servers
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # kafka-python logs each refused connection at ERROR; the failure is raised below.
            logging.getLogger("kafka").setLevel(logging.CRITICAL)
        timeout_ms = int(settings.kafka.request_timeout_s * 1000)
        try:
            self._producer: Any = KafkaProducer(
                bootstrap_servers=servers,
                client_id=f"{settings.kafka.client_id}-{client}",
                acks=1,
                linger_ms=settings.replay.linger_ms,
                max_request_size=settings.stream.max_message_bytes + 64 * 1024,
                request_timeout_ms=timeout_ms,
                bootstrap_timeout_ms=min(timeout_ms, 10_000),
                max_block_ms=timeout_ms,
            )
            partitions = self._producer.partitions_for(topic)
        except KafkaError as exc:
            raise BrokerError(
                f"cannot produce to {servers}: {exc}",
                hint="is the broker up (`iotad kafka status`)?",
            ) from exc
        if not partitions:
            self._producer.close(timeout=5)
            raise BrokerError(
                f"topic {topic!r} does not exist on {servers}",
                hint="create the topics with `iotad kafka topics --create`",
            )
        self._lock = threading.Lock()
        self._delivered = self._failed = 0
        self._first_error: str | None = None

    async def send(self, key: bytes, value: bytes, flows: int) -> None:
        """Queue one message (the producer's thread sends it)."""
        future = self._producer.send(self.topic, key=key, value=value)
        future.add_callback(lambda _: self._settle(flows, None))
        future.add_errback(lambda exc: self._settle(flows, exc))

    def _settle(self, flows: int, error: BaseException | None) -> None:
        with self._lock:
            if error is None:
                self._delivered += flows
                return
            self._failed += flows
            if self._first_error is None:
                self._first_error = f"{type(error).__name__}: {error}"
                logger.error("delivery to %s failed: %s", self.topic, self._first_error)

    async def flush(self) -> None:
        """Wait until every queued message is acknowledged or has failed."""
        self._producer.flush()

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout=30)

    @property
    def delivered_flows(self) -> int:
        """Flows in acknowledged messages."""
        with self._lock:
            return self._delivered

    @property
    def failed_flows(self) -> int:
        """Flows in messages that failed."""
        with self._lock:
            return self._failed

    @property
    def first_error(self) -> str | None:
        """The first delivery error."""
        return self._first_error


class LiveRows(KafkaRows):
    """:class:`KafkaRows` that sends partly filled envelopes ``linger_s`` after the last send,
    so a quiet device's windows do not wait for its envelope to fill."""

    def __init__(self, *args: Any, linger_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger_s = linger_s
        self._last_drain = time.monotonic()

    async def write(self, rows: FeatureRows, source: str) -> None:
        """Buffer ``rows``; send the full envelopes, and all of them when ``linger_s`` passed."""
        await super().write(rows, source)
        if time.monotonic() - self._last_drain >= self.linger_s:
            for flows in self._batches.drain():
                await self._send(flows)
            self._last_drain = time.monotonic()


__all__ = ["LiveRows", "ThreadedSink"]
